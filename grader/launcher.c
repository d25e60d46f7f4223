/*
 * launcher: the small exec wrapper every program of a check is started through.
 *
 *   launcher CPU_S AS_BYTES NPROC FSIZE_BYTES NOFILE PROGRAM [ARG...]
 *
 * It puts the resource limits in place (a value of 0 leaves that limit as it is), gives every
 * signal its default disposition and unblocks them all (pexpect and some shells start children
 * with SIGPIPE and SIGXFSZ ignored, which would turn "killed by SIGPIPE" into EPIPE), asks to be
 * killed when the grader dies, and execs PROGRAM.  It is compiled by the grader once per run;
 * doing this in C rather than in a Python preexec_fn keeps it safe in threaded pytest workers.
 *
 * Containment, from the environment (each variable removed before PROGRAM runs):
 *   GRADER_CGROUPS  colon-separated cgroup.procs files to join (pids, memory, freezer)
 *   GRADER_NONET    "1": a network namespace of its own, with no interface up (no network)
 *   GRADER_UID/GID  run as this unprivileged user: it cannot signal the grader, its processes
 *                   count against RLIMIT_NPROC, and everything it makes carries its uid
 * Each step that fails (no permission) makes the launcher exit 126 with the reason on stderr,
 * except the network namespace, which is skipped where it cannot be made.
 * Exit code 127 with a message on stderr means that PROGRAM could not be executed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *what)
{
    fprintf(stderr, "launcher: %s: %s\n", what, strerror(errno));
    exit(126);
}

static void join_cgroups(char *list)
{
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    for (char *path = strtok(list, ":"); path != NULL; path = strtok(NULL, ":")) {
        int fd = open(path, O_WRONLY);
        if (fd == -1 || write(fd, pid, (size_t)len) != len)
            die(path);
        close(fd);
    }
}

static void limit(int resource, const char *text)
{
    char *end;
    unsigned long long value = strtoull(text, &end, 10);
    if (*end != '\0') {
        fprintf(stderr, "launcher: bad limit %s\n", text);
        exit(127);
    }
    if (value == 0)
        return;
    struct rlimit rl = { (rlim_t)value, (rlim_t)value };
    if (setrlimit(resource, &rl) == -1) {
        /* An unprivileged user cannot raise a hard limit: lower the soft one at least. */
        struct rlimit old;
        if (getrlimit(resource, &old) == 0) {
            rl.rlim_cur = value < old.rlim_max ? (rlim_t)value : old.rlim_max;
            rl.rlim_max = old.rlim_max;
            setrlimit(resource, &rl);
        }
    }
}

int main(int argc, char *argv[])
{
    if (argc < 7) {
        fprintf(stderr, "usage: launcher CPU_S AS NPROC FSIZE NOFILE PROGRAM [ARG...]\n");
        return 127;
    }
    limit(RLIMIT_CPU, argv[1]);
    limit(RLIMIT_AS, argv[2]);
    limit(RLIMIT_NPROC, argv[3]);
    limit(RLIMIT_FSIZE, argv[4]);
    limit(RLIMIT_NOFILE, argv[5]);
    struct rlimit no_core = { 0, 0 };
    setrlimit(RLIMIT_CORE, &no_core);

    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);          /* fails harmlessly for SIGKILL, SIGSTOP, unused numbers */
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);

    char *cgroups = getenv("GRADER_CGROUPS");
    if (cgroups != NULL && *cgroups != '\0')
        join_cgroups(cgroups);
    char *nonet = getenv("GRADER_NONET");
    if (nonet != NULL && strcmp(nonet, "1") == 0)
        (void)unshare(CLONE_NEWNET);   /* best effort: not allowed in some containers */
    umask(022);
    char *uid = getenv("GRADER_UID"), *gid = getenv("GRADER_GID");
    if (uid != NULL && gid != NULL) {
        if (setgroups(0, NULL) == -1)
            die("setgroups");
        if (setgid((gid_t)strtoul(gid, NULL, 10)) == -1)
            die("setgid");
        if (setuid((uid_t)strtoul(uid, NULL, 10)) == -1)
            die("setuid");
    }
    unsetenv("GRADER_CGROUPS");
    unsetenv("GRADER_NONET");
    unsetenv("GRADER_UID");
    unsetenv("GRADER_GID");

    pid_t grader = getppid();
    prctl(PR_SET_PDEATHSIG, SIGKILL);  /* after setuid, which clears it */
    if (getppid() != grader)           /* the grader died before the line above */
        return 127;

    execv(argv[6], &argv[6]);
    fprintf(stderr, "cannot execute %s: %s\n", argv[6], strerror(errno));
    return 127;
}
