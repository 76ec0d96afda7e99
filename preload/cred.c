/*
 * cred: the calls that give up privileges (setuid, setgid, setgroups, setres*id, capset...).
 *
 * DPDK devices need root (or its capabilities), and a program may drop them before its first
 * packet: nginx's workers with Debian's stock "user www-data;" call setgid/initgroups/setuid in
 * their start-up, after inheriting the master's listeners and before their event loop (issue 13
 * item 8; DESIGN.md §6: "anything that needs root is opened before the program drops its
 * privileges"). So the moment a process that holds dpsock sockets and runs as root is about to
 * change its credentials, the engine starts, and the real call follows. A process with no dpsock
 * socket (sshd's privilege separation, su) is left alone: it may never need an engine.
 *
 * Once started as root the engine keeps working without it: the device's sockets and rings, the
 * hugepage mappings and the telemetry socket are open already. What cannot happen later as the
 * new user is only the removal of the DPDK runtime directory at exit (the next engine start
 * removes stale ones).
 */
#include "shim.h"

#include <grp.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

/* Does this process hold a dpsock socket (pending or in the engine)? */
static bool has_psock(void)
{
	int max = shim_fdtab_max();

	for (int fd = 0; fd <= max; fd++)
		if (fd_psock(fd) != NULL)
			return true;
	return false;
}

/* Before a credential change: start the engine while we are still root, if it will be needed. */
static void before_drop(void)
{
	if (shim_inside || geteuid() != 0 || atomic_load(&shim.state) != ENGINE_OFF ||
	    !__atomic_load_n(&shim.conf_ok, __ATOMIC_ACQUIRE) || !has_psock())
		return;
	shim_lock();
	(void)shim_engine_start(); /* a failure said why, and the sockets fall back as always */
	shim_unlock();
}

DPS_EXPORT int setuid(uid_t uid)
{
	dps_real_need();
	before_drop();
	return real_setuid(uid);
}

DPS_EXPORT int setgid(gid_t gid)
{
	dps_real_need();
	before_drop();
	return real_setgid(gid);
}

DPS_EXPORT int seteuid(uid_t uid)
{
	dps_real_need();
	before_drop();
	return real_seteuid(uid);
}

DPS_EXPORT int setegid(gid_t gid)
{
	dps_real_need();
	before_drop();
	return real_setegid(gid);
}

DPS_EXPORT int setreuid(uid_t ruid, uid_t euid)
{
	dps_real_need();
	before_drop();
	return real_setreuid(ruid, euid);
}

DPS_EXPORT int setregid(gid_t rgid, gid_t egid)
{
	dps_real_need();
	before_drop();
	return real_setregid(rgid, egid);
}

DPS_EXPORT int setresuid(uid_t ruid, uid_t euid, uid_t suid)
{
	dps_real_need();
	before_drop();
	return real_setresuid(ruid, euid, suid);
}

DPS_EXPORT int setresgid(gid_t rgid, gid_t egid, gid_t sgid)
{
	dps_real_need();
	before_drop();
	return real_setresgid(rgid, egid, sgid);
}

DPS_EXPORT int setgroups(size_t n, const gid_t *groups)
{
	dps_real_need();
	before_drop();
	return real_setgroups(n, groups);
}

DPS_EXPORT int initgroups(const char *user, gid_t group)
{
	dps_real_need();
	before_drop();
	return real_initgroups(user, group);
}

/* capset(2): glibc's wrapper, declared in <sys/capability.h> (libcap), which we do not need. */
struct __user_cap_header_struct;
struct __user_cap_data_struct;
DPS_EXPORT int capset(struct __user_cap_header_struct *hdr,
		      const struct __user_cap_data_struct *data);
DPS_EXPORT int capset(struct __user_cap_header_struct *hdr,
		      const struct __user_cap_data_struct *data)
{
	dps_real_need();
	before_drop();
	if (real_capset == NULL)
		return (int)shim_ret(-ENOSYS);
	return real_capset(hdr, data);
}
