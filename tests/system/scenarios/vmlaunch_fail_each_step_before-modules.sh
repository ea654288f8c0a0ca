#!/bin/bash
# Scenario: vmlaunch_fail_each_step.sh for the steps before modules (by their place in plan --json's step_order), so each
# boot stays well inside its time on a busy machine.
FAIL_EACH_STEP_PART=before-modules exec bash "$SYSTEM_TESTS/scenarios/vmlaunch_fail_each_step.sh"
