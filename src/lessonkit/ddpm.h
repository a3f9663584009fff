// ddpm.h: the whole core, in dependency order. Lessons include this one header.
#pragma once

#include "core/common.h"      // errors, not_implemented
#include "core/pool.h"        // the thread pool
#include "core/dmath.h"       // exp, log, sin, cos with the same bits everywhere
#include "core/rng.h"         // counter-based random numbers
#include "core/tensor.h"      // tensors and autograd
#include "core/kernels.h"     // plain-loop kernels (the reference path)
#include "core/ops.h"         // differentiable ops
#include "core/nn.h"          // layers and parameter lists
#include "core/optim.h"       // optimisers, EMA, clipping
#include "store/checkpoint.h"  // the binary format
#include "core/gradcheck.h"   // finite-difference checks
#include "core/io.h"          // atomic files, tables
#include "lessonkit/lesson.h"      // lesson flags and timing
#include "diffusion/data.h"        // toy data sets
#include "diffusion/schedule.h"    // noise schedules
#include "diffusion/diffusion.h"   // the forward process
#include "diffusion/stats.h"       // moments, z-scores, KS test
