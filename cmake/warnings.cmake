# Warnings are always on; -Werror is a CI option.
function(crpsgd_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                         $<$<BOOL:${CRPSGD_WERROR}>:-Werror>)
endfunction()
