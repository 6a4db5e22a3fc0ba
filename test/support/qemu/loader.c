/*
 * Minimal module loader for the kernel ground-truth test's initramfs.
 *
 *   loader load FILE.ko...   finit_module() each file in order, ignoring vermagic and modversions
 *   loader unload NAME...    delete_module() each name in order
 *
 * Prints one machine-readable line per module:
 *   @@LOAD <file> rc=<0|-errno>      @@UNLOAD <name> rc=<0|-errno>
 * Built statically at test time (gcc -static -O2) so it runs in a busybox-only initramfs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MODULE_INIT_IGNORE_MODVERSIONS
#define MODULE_INIT_IGNORE_MODVERSIONS 1
#endif
#ifndef MODULE_INIT_IGNORE_VERMAGIC
#define MODULE_INIT_IGNORE_VERMAGIC 2
#endif

static int load(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0) {
		rc = -errno;
	} else {
		rc = syscall(SYS_finit_module, fd, "",
			     MODULE_INIT_IGNORE_MODVERSIONS | MODULE_INIT_IGNORE_VERMAGIC);
		rc = rc == 0 ? 0 : -errno;
		close(fd);
	}
	printf("@@LOAD %s rc=%d\n", path, rc);
	fflush(stdout);
	return rc;
}

static int unload(const char *name)
{
	int rc = syscall(SYS_delete_module, name, O_NONBLOCK);

	rc = rc == 0 ? 0 : -errno;
	printf("@@UNLOAD %s rc=%d\n", name, rc);
	fflush(stdout);
	return rc;
}

int main(int argc, char **argv)
{
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: loader load FILE.ko... | unload NAME...\n");
		return 2;
	}
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[1], "load") == 0)
			load(argv[i]);
		else if (strcmp(argv[1], "unload") == 0)
			unload(argv[i]);
		else
			return 2;
	}
	return 0;
}
