// The ddpm program: train a diffusion model on a CSV file, sample from it, evaluate samples.
// Everything is in src/app/cli.cpp (ddpm_main) and the commands it calls; `ddpm --help` explains.
#include "app/cli.h"
#include "core/common.h"

int main(int argc, char** argv) { return ddpm::run_main("ddpm", ddpm::ddpm_main, argc, argv); }
