// tasks.h: the graded tasks of every lesson. One row per task: its ID, its points, what it asks, and
// the test file that holds its checks (all of them, and no other task's but its lesson's:
// tests/test_source_rules.cpp checks every row against the test files themselves).
//
// A graded check is a doctest case whose name starts with the task ID ("L00.1 gradcheck ...").
// The student's code for task L00.1 is the region "// BEGIN SOLUTION L00.1" ... "// END SOLUTION"
// in the source; the lesson's README explains it under the heading "Task L00.1".
#pragma once

#include <vector>

struct GradedTask {
    const char* id;
    int points;
    const char* title;
    const char* tests = "";  // the file of its graded checks, e.g. "tests/test_ddim.cpp"
    const char* needs = "";  // "needs first": the tasks whose code its checks also run, space-separated
                             // (docs/student/README.md's column; tests/test_source_rules.cpp compares them)
};

inline const std::vector<GradedTask>& graded_tasks() {
    static const std::vector<GradedTask> tasks = {
        {"L00.1", 3, "central-difference gradient (src/core/gradcheck.cpp)", "tests/test_gradcheck.cpp"},
        {"L00.2", 3, "backward of mul and mse (src/core/ops.cpp)", "tests/test_ops.cpp"},
        {"L00.3", 2, "Adam step with bias correction (src/core/optim.cpp)", "tests/test_nn_optim.cpp", "L00.2"},
        {"L01.1", 2, "alpha, alpha-bar, beta-tilde and SNR from the betas (src/diffusion/schedule.cpp)", "tests/test_schedule.cpp"},
        {"L01.2", 2, "one step of the forward chain (src/diffusion/diffusion.cpp, q_step)", "tests/test_forward.cpp", "L01.1"},
        {"L01.3", 3, "the closed form q(x_t | x_0) (src/diffusion/diffusion.cpp, q_sample)", "tests/test_forward.cpp", "L01.1 L01.2"},
        {"L02.1", 3, "z-scores of sample moments (src/diffusion/stats.cpp, check_moments)", "tests/test_stats.cpp", "L01.1 L01.3"},
        {"L03.1", 3, "the loss L_simple (src/diffusion/train.cpp, simple_loss)", "tests/test_train.cpp", "L01.1 L01.3"},
        {"L03.2", 3, "one training step of Algorithm 1 (src/diffusion/train.cpp, Trainer::train_step)", "tests/test_train.cpp", "L00.2 L00.3 L01.1 L01.3 L03.1"},
        {"L04.1", 3, "the reverse mean from the predicted noise (src/diffusion/sampler.cpp, p_mean_from_eps)", "tests/test_sampler.cpp", "L01.1 L01.3"},
        {"L04.2", 2, "one ancestral sampling step (src/diffusion/sampler.cpp, p_sample_step)", "tests/test_sampler.cpp", "L01.1 L04.1"},
        {"L04.3", 2, "the exact 1-D Wasserstein-1 between two samples (src/diffusion/metrics.cpp)", "tests/test_metrics.cpp"},
        {"L07.1", 3, "the DDIM update with eta (src/diffusion/ddim.cpp, ddim_step)", "tests/test_ddim.cpp", "L01.1 L01.3 L04.1 L04.2"},
        {"L07.2", 2, "the DDIM timestep subsequence (src/diffusion/ddim.cpp, ddim_timesteps)", "tests/test_ddim.cpp"},
        {"L08.1", 3, "SSIM in one window (src/diffusion/image_metrics.cpp, ssim)", "tests/test_image_metrics.cpp"},
        {"L09.1", 3, "the residual block of Ho et al. with the time embedding (src/nets/unet.cpp, ResBlock2d::forward)", "tests/test_unet_blocks.cpp"},
        {"L09.2", 2, "[003]'s ConvNeXt block (src/nets/unet.cpp, ConvNeXtBlock2d::forward)", "tests/test_unet_blocks.cpp"},
        {"L10.1", 2, "the composed blur kernel G~_t (src/diffusion/cold.cpp, composed_kernel)", "tests/test_cold.cpp"},
        {"L10.2", 3, "one step of Bansal et al.'s sampler, Algorithm 2 and the naive one (src/diffusion/cold.cpp, cold_step)", "tests/test_cold.cpp"},
        {"L11.1", 2, "the KL between two Gaussians (src/diffusion/likelihood.cpp, normal_kl)", "tests/test_likelihood.cpp"},
        {"L11.2", 3, "the discretised decoder's log-likelihood (src/diffusion/likelihood.cpp, discretized_gaussian_log_likelihood)", "tests/test_likelihood.cpp"},
        {"L11.3", 1, "the v target (src/diffusion/likelihood.cpp, v_target)", "tests/test_likelihood.cpp"},
        {"L11.4", 2, "classifier-free guidance's eps (src/diffusion/guidance.cpp, guided_eps)", "tests/test_guidance.cpp"},
        {"L12.1", 2, "Heun's step of the probability-flow ODE (src/diffusion/ode.cpp, ode_heun_step)", "tests/test_ode.cpp", "L01.1"},
        {"L13.1", 3, "the flow-matching loss: the straight path and its velocity (src/diffusion/flow.cpp, flow_loss)", "tests/test_flow.cpp", "L00.2 L00.3"},
    };
    return tasks;
}
