// ddpm.h: the whole core, in dependency order. Lessons include this one header.
#pragma once

#include "common.h"      // errors, not_implemented
#include "pool.h"        // the thread pool
#include "rng.h"         // counter-based random numbers
#include "tensor.h"      // tensors and autograd
#include "kernels.h"     // plain-loop kernels and their naive twins
#include "ops.h"         // differentiable ops
#include "nn.h"          // layers and parameter lists
#include "optim.h"       // optimisers, EMA, clipping
#include "checkpoint.h"  // the binary format
#include "gradcheck.h"   // finite-difference checks
#include "io.h"          // atomic files, tables
#include "lesson.h"      // lesson flags and timing
#include "data.h"        // toy data sets, CSV
#include "schedule.h"    // noise schedules
#include "diffusion.h"   // the forward process
#include "stats.h"       // moments, z-scores, KS test
