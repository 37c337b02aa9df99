#ifndef EDGEUP_CBUILD_H
#define EDGEUP_CBUILD_H
/* What the build knows about itself. `make release` passes -Xcc -DEDGEUP_COMMIT="..." and
   -Xcc -DEDGEUP_BUILD_DATE="..." (see the Makefile); a plain `swift build` passes neither.
   Functions, not macros: Swift imports only macros defined in a header, not on the command line. */
#ifndef EDGEUP_COMMIT
#define EDGEUP_COMMIT "unknown"
#endif
#ifndef EDGEUP_BUILD_DATE
#define EDGEUP_BUILD_DATE "development"
#endif
static inline const char *edgeup_build_commit(void) { return EDGEUP_COMMIT; }
static inline const char *edgeup_build_date(void) { return EDGEUP_BUILD_DATE; }
#endif
