// CRPSGD_CHECK: invariants inside the library. A failure is a bug, never bad
// input (bad input is a Status): it prints file:line and aborts.
#pragma once

#include <cstdio>
#include <cstdlib>

#define CRPSGD_CHECK(cond)                                                                             \
  do {                                                                                                 \
    if (!(cond)) {                                                                                     \
      std::fprintf(stderr, "crpsgd: internal check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                                    \
    }                                                                                                  \
  } while (0)
