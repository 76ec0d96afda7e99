/*
 * io: the data calls (read/write and their vector, msg and mmsg forms, recv/send, sendfile, and
 * glibc's fortified variants) on dpsock sockets. One receive and one send loop do the work:
 *   - blocking fds wait for readiness (SO_RCVTIMEO/SO_SNDTIMEO: EAGAIN at expiry);
 *   - a blocking send queues everything (or stops at a timeout, signal or error with a partial
 *     count, as Linux), a non-blocking one what fits;
 *   - EPIPE raises SIGPIPE unless MSG_NOSIGNAL;
 *   - MSG_WAITALL reads until len, end of stream, error, timeout or signal.
 */
#include "shim.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/sendfile.h>
#include <unistd.h>

/* MSG_NOSIGNAL means nothing to a receive; Linux accepts it (sockperf passes it to recvfrom). */
#define SHIM_RECV_FLAGS (MSG_PEEK | MSG_DONTWAIT | MSG_WAITALL | MSG_CMSG_CLOEXEC | MSG_NOSIGNAL)
#define SHIM_SEND_FLAGS (MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE | MSG_EOR | MSG_CONFIRM)

/* Receive into iov; the count, 0 at end of stream, or -errno. Lock not held. */
static ssize_t sock_recv(int fd, const struct iovec *iov, int iovcnt, int flags)
{
	struct psock *ps;
	ssize_t total = 0, rc = 0;
	uint64_t deadline;
	bool nonblock;
	int i = 0;
	size_t off = 0;

	if (flags & MSG_OOB)
		return -EINVAL; /* Linux: no urgent data pending (we never have any) */
	if (flags & ~SHIM_RECV_FLAGS)
		return -EOPNOTSUPP;
	ps = shim_enter(fd);
	if (ps == NULL)
		return -EBADF;
	rc = psock_materialize(ps, fd);
	if (rc < 0)
		goto out;
	if (ps->listening) {
		rc = -ENOTCONN;
		goto out;
	}
	nonblock = ps->nonblock || (flags & MSG_DONTWAIT);
	deadline = shim_deadline(ps->rcvtimeo_ns);
	while (i < iovcnt) {
		if (iov[i].iov_len == off) {
			i++;
			off = 0;
			continue;
		}
		rc = dps_recv(ps->h, (char *)iov[i].iov_base + off, iov[i].iov_len - off,
			      flags & MSG_PEEK);
		if (rc > 0) {
			total += rc;
			off += (size_t)rc;
			if (flags & MSG_PEEK)
				break; /* a peek does not advance: one buffer's worth */
			continue;
		}
		if (rc == 0)
			break; /* end of stream */
		if (rc != -EAGAIN)
			break;
		/* Nothing more now: return what we have unless MSG_WAITALL asks for all. */
		if (total > 0 && !(flags & MSG_WAITALL))
			break;
		if (nonblock)
			break;
		struct shim_wait w = { &ps->waiters, EPOLLIN | EPOLLRDHUP };

		rc = shim_block(&w, 1, NULL, NULL, 0, deadline);
		if (rc == -ETIMEDOUT) {
			rc = -EAGAIN;
			break;
		}
		if (rc == -EINTR && !(shim_signal_restarts() && ps->rcvtimeo_ns == 0))
			break;
	}
	if (total > 0)
		rc = total;
out:
	shim_leave(ps);
	return rc;
}

/* Send from iov; the count queued (partial when interrupted or non-blocking) or -errno. */
static ssize_t sock_send(int fd, const struct iovec *iov, int iovcnt, int flags)
{
	struct psock *ps;
	ssize_t total = 0, rc = 0;
	uint64_t deadline;
	bool nonblock;
	int i = 0;
	size_t off = 0;

	if (flags & MSG_OOB)
		return -EOPNOTSUPP; /* urgent data is not implemented */
	if (flags & ~SHIM_SEND_FLAGS)
		return -EOPNOTSUPP;
	ps = shim_enter(fd);
	if (ps == NULL)
		return -EBADF;
	rc = psock_materialize(ps, fd);
	if (rc < 0)
		goto out;
	nonblock = ps->nonblock || (flags & MSG_DONTWAIT);
	deadline = shim_deadline(ps->sndtimeo_ns);
	while (i < iovcnt) {
		if (iov[i].iov_len == off) {
			i++;
			off = 0;
			continue;
		}
		rc = dps_send(ps->h, (const char *)iov[i].iov_base + off, iov[i].iov_len - off,
			      (flags & MSG_MORE) || i + 1 < iovcnt ? MSG_MORE : 0);
		if (rc > 0) {
			total += rc;
			off += (size_t)rc;
			continue;
		}
		if (rc == 0)
			rc = -EAGAIN;
		if (rc != -EAGAIN || nonblock)
			break;
		/* The buffer is full: let the engine push, then wait for room. */
		shim_poll_locked(true);
		struct shim_wait w = { &ps->waiters, EPOLLOUT };

		rc = shim_block(&w, 1, NULL, NULL, 0, deadline);
		if (rc == -ETIMEDOUT) {
			rc = -EAGAIN;
			break;
		}
		if (rc == -EINTR && !(total == 0 && shim_signal_restarts() && ps->sndtimeo_ns == 0))
			break;
	}
	if (total > 0)
		rc = total;
	/* What one call wrote leaves in one burst, now: the program may not call us again soon. */
	(void)dps_flush();
out:
	shim_leave(ps);
	if (rc == -EPIPE && !(flags & MSG_NOSIGNAL))
		raise(SIGPIPE); /* after the unlock: the handler may call us */
	return rc;
}

static inline bool ours(int fd)
{
	return fd_psock(fd) != NULL;
}

DPS_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	struct iovec v = { buf, n };
	ssize_t rc;

	dps_real_need();
	if (!ours(fd))
		return real_read(fd, buf, n);
	rc = sock_recv(fd, &v, 1, 0);
	if (rc == -ENODEV)
		return real_read(fd, buf, n);
	return shim_ret(rc);
}

DPS_EXPORT ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
	ssize_t rc;

	dps_real_need();
	if (!ours(fd))
		return real_readv(fd, iov, iovcnt);
	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return shim_ret(-EINVAL);
	rc = sock_recv(fd, iov, iovcnt, 0);
	if (rc == -ENODEV)
		return real_readv(fd, iov, iovcnt);
	return shim_ret(rc);
}

DPS_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	struct iovec v = { buf, n };
	ssize_t rc;

	dps_real_need();
	if (!ours(fd))
		return real_recv(fd, buf, n, flags);
	rc = sock_recv(fd, &v, 1, flags);
	if (rc == -ENODEV)
		return real_recv(fd, buf, n, flags);
	return shim_ret(rc);
}

DPS_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *sa,
			    socklen_t *len)
{
	struct iovec v = { buf, n };
	ssize_t rc;

	dps_real_need();
	if (!ours(fd))
		return real_recvfrom(fd, buf, n, flags, sa, len);
	rc = sock_recv(fd, &v, 1, flags);
	if (rc == -ENODEV)
		return real_recvfrom(fd, buf, n, flags, sa, len);
	if (rc >= 0 && sa != NULL && len != NULL)
		*len = 0; /* TCP reports no source address (Linux) */
	return shim_ret(rc);
}

DPS_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	ssize_t rc;

	dps_real_need();
	if (!ours(fd))
		return real_recvmsg(fd, msg, flags);
	if (msg->msg_iovlen > IOV_MAX)
		return shim_ret(-EMSGSIZE);
	rc = sock_recv(fd, msg->msg_iov, (int)msg->msg_iovlen, flags);
	if (rc == -ENODEV)
		return real_recvmsg(fd, msg, flags);
	if (rc >= 0) {
		msg->msg_namelen = 0;
		msg->msg_controllen = 0;
		msg->msg_flags = 0;
	}
	return shim_ret(rc);
}

DPS_EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned vlen, int flags,
			struct timespec *timeout)
{
	unsigned i;

	dps_real_need();
	if (!ours(fd))
		return real_recvmmsg(fd, vec, vlen, flags, timeout);
	/* A stream has no message boundaries: each entry takes what one recvmsg would. */
	for (i = 0; i < vlen; i++) {
		ssize_t rc = recvmsg(fd, &vec[i].msg_hdr, i == 0 ? flags : flags | MSG_DONTWAIT);

		if (rc < 0)
			return i > 0 ? (int)i : -1;
		vec[i].msg_len = (unsigned)rc;
		if (rc == 0)
			return (int)i + 1;
	}
	return (int)i;
}

DPS_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	struct iovec v = { (void *)buf, n };
	ssize_t rc;

	dps_real_need();
	if (!ours(fd))
		return real_write(fd, buf, n);
	rc = sock_send(fd, &v, 1, 0);
	if (rc == -ENODEV)
		return real_write(fd, buf, n);
	return shim_ret(rc);
}

DPS_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	ssize_t rc;

	dps_real_need();
	if (!ours(fd))
		return real_writev(fd, iov, iovcnt);
	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return shim_ret(-EINVAL);
	rc = sock_send(fd, iov, iovcnt, 0);
	if (rc == -ENODEV)
		return real_writev(fd, iov, iovcnt);
	return shim_ret(rc);
}

DPS_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	struct iovec v = { (void *)buf, n };
	ssize_t rc;

	dps_real_need();
	if (!ours(fd))
		return real_send(fd, buf, n, flags);
	rc = sock_send(fd, &v, 1, flags);
	if (rc == -ENODEV)
		return real_send(fd, buf, n, flags);
	return shim_ret(rc);
}

DPS_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa,
			  socklen_t len)
{
	struct iovec v = { (void *)buf, n };
	ssize_t rc;

	dps_real_need();
	if (!ours(fd))
		return real_sendto(fd, buf, n, flags, sa, len);
	rc = sock_send(fd, &v, 1, flags); /* a connected stream ignores the address (Linux) */
	if (rc == -ENODEV)
		return real_sendto(fd, buf, n, flags, sa, len);
	return shim_ret(rc);
}

DPS_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	ssize_t rc;

	dps_real_need();
	if (!ours(fd))
		return real_sendmsg(fd, msg, flags);
	if (msg->msg_iovlen > IOV_MAX)
		return shim_ret(-EMSGSIZE);
	rc = sock_send(fd, msg->msg_iov, (int)msg->msg_iovlen, flags);
	if (rc == -ENODEV)
		return real_sendmsg(fd, msg, flags);
	return shim_ret(rc);
}

DPS_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned vlen, int flags)
{
	unsigned i;

	dps_real_need();
	if (!ours(fd))
		return real_sendmmsg(fd, vec, vlen, flags);
	for (i = 0; i < vlen; i++) {
		ssize_t rc = sendmsg(fd, &vec[i].msg_hdr, flags);

		if (rc < 0)
			return i > 0 ? (int)i : -1;
		vec[i].msg_len = (unsigned)rc;
	}
	return (int)i;
}

/*
 * sendfile to a dpsock socket: read from in_fd (at *offset when given, which is then advanced and
 * the file position left alone; else at and advancing the file position) and send. Returns what
 * was sent; bytes read but not sent move the position back, as if never read.
 */
static ssize_t sock_sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
	char buf[65536];
	ssize_t total = 0;

	while ((size_t)total < count) {
		size_t want =
		    count - (size_t)total < sizeof(buf) ? count - (size_t)total : sizeof(buf);
		ssize_t got = offset != NULL ? pread(in_fd, buf, want, *offset + total)
					     : real_read(in_fd, buf, want);
		struct iovec v;
		ssize_t sent;

		if (got < 0) {
			if (total > 0)
				break;
			return -errno;
		}
		if (got == 0)
			break;
		v.iov_base = buf;
		v.iov_len = (size_t)got;
		sent = sock_send(out_fd, &v, 1, total > 0 ? MSG_DONTWAIT : 0);
		if (sent < 0) {
			if (offset == NULL)
				(void)lseek(in_fd, -got, SEEK_CUR);
			if (total > 0)
				break;
			return sent;
		}
		total += sent;
		if (sent < got) {
			if (offset == NULL)
				(void)lseek(in_fd, sent - got, SEEK_CUR);
			break;
		}
	}
	if (offset != NULL)
		*offset += total;
	return total;
}

DPS_EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
	dps_real_need();
	if (!ours(out_fd))
		return real_sendfile(out_fd, in_fd, offset, count);
	return shim_ret(sock_sendfile(out_fd, in_fd, offset, count));
}

DPS_EXPORT ssize_t sendfile64(int out_fd, int in_fd, off64_t *offset, size_t count)
{
	dps_real_need();
	if (!ours(out_fd))
		return real_sendfile64(out_fd, in_fd, offset, count);
	return shim_ret(sock_sendfile(out_fd, in_fd, (off_t *)offset, count));
}

/* glibc's _FORTIFY_SOURCE entry points: the size check, then the call. */
extern void __chk_fail(void) __attribute__((noreturn));
DPS_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
DPS_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
DPS_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
				  struct sockaddr *sa, socklen_t *len);

DPS_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	dps_real_need();
	if (n > buflen)
		__chk_fail();
	return read(fd, buf, n);
}

DPS_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	dps_real_need();
	if (n > buflen)
		__chk_fail();
	return recv(fd, buf, n, flags);
}

DPS_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
				  struct sockaddr *sa, socklen_t *len)
{
	dps_real_need();
	if (n > buflen)
		__chk_fail();
	return recvfrom(fd, buf, n, flags, sa, len);
}
