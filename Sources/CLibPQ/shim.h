#ifndef CAREERLOG_CLIBPQ_SHIM_H
#define CAREERLOG_CLIBPQ_SHIM_H
// Debian installs libpq's headers in /usr/include/postgresql; SwiftPM adds
// that directory from `pkg-config --cflags libpq`.
#include <libpq-fe.h>
#endif
