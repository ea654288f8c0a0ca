/* VM definitions used by the hostprep tests (INI text; [hooks] dir is added). */
#pragma once

/* The guide's VM on the RTX 2060: 1 GiB in 2M hugepages, vCPUs on CPUs 0-1,
 * emulator on 2, governor on the pinned CPUs, the host's tasks isolated on CPU 2,
 * default host actions. */
#define DEF_RTX2060                                                                                \
        "[vm]\nname = win10\n"                                                                     \
        "[memory]\nsize = 1G\nhugepages = 2M\nallocate_hugepages = yes\n"                          \
        "[cpu]\ncores = 2\nthreads = 1\nvcpu_pin = 0-1\nemulator_pin = 2\n"                        \
        "[gpu]\naddress = 06:00.0\n"                                                               \
        "[host]\nstop_units = display-manager.service\nisolate_cpus = yes\n"

#define DEF_AMD                                                                                    \
        "[vm]\nname = amd\n"                                                                       \
        "[memory]\nsize = 1G\nhugepages = 2M\nallocate_hugepages = yes\n"                          \
        "[cpu]\ncores = 2\nthreads = 1\nvcpu_pin = 0-1\nemulator_pin = 2\n"                        \
        "[gpu]\naddress = 0c:00.0\n"                                                               \
        "[host]\nstop_units = display-manager.service\n"
