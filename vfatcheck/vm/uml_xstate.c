/* LD_PRELOAD shim for User-mode Linux kernels that save the guest's extended FPU state in a buffer of
 * fixed, compile-time size (Debian's 6.1um and other kernels before UML learnt the host's XSAVE size).
 *
 * On a host whose XSAVE area is larger (AVX-512, AMX), the host kernel refuses PTRACE_SETREGSET
 * NT_X86_XSTATE with a short buffer (EFAULT): UML prints "ptrace set fp regs failed, errno = 14" and
 * the guest's init dies with SIGSEGV. This shim completes such a short buffer: it reads the stopped
 * process's whole current state, lays UML's part over it, keeps the host's components UML does not
 * know of (their header bits too), and writes the whole area back. Built at first use by
 * vfatcheck/vm/uml.py; runs on the host, inside the UML process, never in the guest.
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

#define XSTATE_HEADER 512 /* offset of the XSAVE header (XSTATE_BV first) */
#define KNOWN_FEATURES 7  /* x87, SSE, AVX: the components of UML's struct _xstate */

typedef long (*ptrace_fn)(enum __ptrace_request, pid_t, void *, void *);

static unsigned char whole[1 << 16];

long ptrace(enum __ptrace_request request, ...)
{
	static ptrace_fn real;
	va_list ap;
	va_start(ap, request);
	pid_t pid = va_arg(ap, pid_t);
	void *addr = va_arg(ap, void *);
	void *data = va_arg(ap, void *);
	va_end(ap);
	if (!real)
		real = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
	if (request != PTRACE_SETREGSET || (uintptr_t)addr != NT_X86_XSTATE)
		return real(request, pid, addr, data);
	struct iovec *given = data, full = {whole, sizeof(whole)};
	if (real(PTRACE_GETREGSET, pid, addr, &full) < 0 || given->iov_len >= full.iov_len ||
	    given->iov_len < XSTATE_HEADER + 8)
		return real(request, pid, addr, data);
	uint64_t others;
	memcpy(&others, whole + XSTATE_HEADER, sizeof(others));
	others &= ~(uint64_t)KNOWN_FEATURES;
	memcpy(whole, given->iov_base, given->iov_len);
	uint64_t features;
	memcpy(&features, whole + XSTATE_HEADER, sizeof(features));
	features |= others;
	memcpy(whole + XSTATE_HEADER, &features, sizeof(features));
	return real(request, pid, addr, &full);
}
