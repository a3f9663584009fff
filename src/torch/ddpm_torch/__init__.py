"""ddpm_torch: the networks, files, schedules and data of ddpm.cpp in PyTorch.

For a student who trains past one machine (train.py beside this package, under torchrun) and brings
the weights back to the course's tools (`ddpm import`, `ddpm sample`, `ddpm eval`). Needs torch alone
(Debian's python3-torch, or any PyTorch build): files are read and written with json and torch.
"""
from .course import (arch_metadata, build_model, course_metadata, describe_arch, load_twin, objective_of,
                     save_course_file)
from .data import (bytes_to_unit, fit_normalisation, load_csv, load_images, load_labels, load_png_folder, read_idx,
                   standardise)
from .errors import DataError
from .nets import ConvNeXtBlock2d, EpsMLP, ImageCNN, ResBlock2d, SelfAttention2d, UNet
from .safetensors import load_safetensors, safetensors_bytes, save_safetensors, write_atomic
from .schedules import (OBJECTIVES, Schedule, cosine_schedule, ddpm_step, eps_from_prediction, linear_schedule,
                        make_schedule, min_snr_weight, q_sample, schedule_from_metadata, sigmoid_schedule,
                        timestep_embedding, training_target)

__all__ = ["ConvNeXtBlock2d", "EpsMLP", "ImageCNN", "ResBlock2d", "SelfAttention2d", "UNet", "arch_metadata",
           "build_model", "course_metadata", "describe_arch", "load_twin", "objective_of", "save_course_file",
           "bytes_to_unit", "fit_normalisation", "load_csv", "load_images", "load_labels", "load_png_folder",
           "read_idx", "standardise", "DataError", "load_safetensors", "safetensors_bytes", "save_safetensors",
           "write_atomic", "OBJECTIVES", "Schedule", "cosine_schedule", "ddpm_step", "eps_from_prediction",
           "linear_schedule", "make_schedule", "min_snr_weight", "q_sample", "schedule_from_metadata",
           "sigmoid_schedule", "timestep_embedding", "training_target"]
