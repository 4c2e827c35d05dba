// crpsgd: communication-efficient distributed SGD with growing batches.
// The umbrella header: everything a user of the library needs.
#pragma once

#include "crpsgd/algorithm.h"
#include "crpsgd/allocator.h"
#include "crpsgd/batch_schedule.h"
#include "crpsgd/communicator.h"
#include "crpsgd/data_loader.h"
#include "crpsgd/dataset.h"
#include "crpsgd/evaluation.h"
#include "crpsgd/fault_injection.h"
#include "crpsgd/inproc.h"
#include "crpsgd/linear_models.h"
#include "crpsgd/liblinear_model.h"
#include "crpsgd/files.h"
#include "crpsgd/metrics.h"
#include "crpsgd/objective.h"
#include "crpsgd/objective_registry.h"
#include "crpsgd/round_plan.h"
#include "crpsgd/sampler.h"
#include "crpsgd/status.h"
#include "crpsgd/step_search.h"
#include "crpsgd/train.h"
