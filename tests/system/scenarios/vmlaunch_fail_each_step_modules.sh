#!/bin/bash
# Scenario: vmlaunch_fail_each_step.sh for the steps of modules only, so each
# boot stays well inside its time on a busy machine.
FAIL_EACH_STEP_PART=modules exec bash "$SYSTEM_TESTS/scenarios/vmlaunch_fail_each_step.sh"
