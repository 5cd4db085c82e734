/* Preloaded before libfaketime 0.9.10 (Debian 12): with FAKETIME_DONT_FAKE_MONOTONIC it turns
 * an absolute CLOCK_MONOTONIC clock_nanosleep into a negative time (wolfcw/libfaketime#426,
 * fixed after 0.9.10), and Python 3.11's time.sleep fails with EINVAL. The monotonic clock is
 * not faked, so such sleeps go to the kernel as they are; the others on to libfaketime. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int clock_nanosleep(clockid_t clock_id, int flags, const struct timespec *request,
                    struct timespec *remain) {
  if (clock_id == CLOCK_MONOTONIC) {
    return syscall(SYS_clock_nanosleep, clock_id, flags, request, remain) == -1 ? errno : 0;
  }
  int (*next)(clockid_t, int, const struct timespec *, struct timespec *) =
      dlsym(RTLD_NEXT, "clock_nanosleep");
  return next(clock_id, flags, request, remain);
}
