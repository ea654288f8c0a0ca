/* The verbs of the vmlaunch CLI. Each returns an exit code from exit_codes.h. */
#pragma once

struct vl_verb {
        const char *name;
        const char *summary; /* one line for `vmlaunch --help` */
        int (*run)(int argc, char **argv);
};

int cmd_plan(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_wait(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_wake(int argc, char **argv);
int cmd_qmp(int argc, char **argv);
int cmd_guest(int argc, char **argv);
int cmd_topology(int argc, char **argv);
