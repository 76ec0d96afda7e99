/*
 * wheel.c: the hashed timing wheel (see wheel.h for the contract).
 *
 * Call order: dps_wheel_init(), then any number of dps_wheel_add()/dps_wheel_cancel() and
 * dps_wheel_advance(now) with non-decreasing now, then dps_wheel_fini().
 *
 * A slot is a circular list with a sentinel head. The busy bitmap is set when a timer is linked
 * into a slot and cleared lazily (when advance() empties the slot, or when next_expiry() finds
 * it empty), so cancel never has to find out which slot its timer was in.
 */
#include "coroutine/wheel.h"

#include <errno.h>
#include <stdlib.h>

static void link_init(struct dps_wheel_link *h)
{
	h->next = h;
	h->prev = h;
}

static bool link_is_empty(const struct dps_wheel_link *h)
{
	return h->next == h;
}

static void link_add_tail(struct dps_wheel_link *h, struct dps_wheel_link *n)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}

static void link_del(struct dps_wheel_link *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = NULL;
	n->prev = NULL;
}

/* Move every node of from onto the empty list to, leaving from empty. */
static void link_splice(struct dps_wheel_link *from, struct dps_wheel_link *to)
{
	if (link_is_empty(from)) {
		link_init(to);
		return;
	}
	to->next = from->next;
	to->prev = from->prev;
	to->next->prev = to;
	to->prev->next = to;
	link_init(from);
}

int dps_wheel_init(struct dps_wheel *w, uint64_t tick_ns, size_t nslots, uint64_t now_ns)
{
	size_t i, nwords;

	if (tick_ns == 0 || nslots < 64 || nslots > (1u << 24) || (nslots & (nslots - 1)) != 0)
		return -EINVAL;
	nwords = nslots / 64;
	w->slots = malloc(nslots * sizeof(*w->slots));
	w->busy = calloc(nwords, sizeof(*w->busy));
	if (w->slots == NULL || w->busy == NULL) {
		free(w->slots);
		free(w->busy);
		w->slots = NULL;
		w->busy = NULL;
		return -ENOMEM;
	}
	for (i = 0; i < nslots; i++)
		link_init(&w->slots[i]);
	w->tick_ns = tick_ns;
	w->now_tick = now_ns / tick_ns;
	w->mask = nslots - 1;
	w->count = 0;
	return 0;
}

void dps_wheel_fini(struct dps_wheel *w)
{
	free(w->slots);
	free(w->busy);
	w->slots = NULL;
	w->busy = NULL;
	w->count = 0;
}

void dps_timer_init(struct dps_timer *t, dps_timer_fn fn)
{
	t->link.next = NULL;
	t->link.prev = NULL;
	t->tick = 0;
	t->fn = fn;
}

static void slot_link(struct dps_wheel *w, struct dps_timer *t)
{
	uint64_t slot = t->tick & w->mask;

	link_add_tail(&w->slots[slot], &t->link);
	w->busy[slot / 64] |= UINT64_C(1) << (slot % 64);
}

void dps_wheel_add(struct dps_wheel *w, struct dps_timer *t, uint64_t expire_ns)
{
	/* Round up: firing at the start of tick k means now >= k * tick_ns >= expire_ns. */
	uint64_t tick = expire_ns / w->tick_ns + (expire_ns % w->tick_ns != 0);

	if (dps_timer_is_pending(t))
		dps_wheel_cancel(w, t);
	/* Already due (or due in the tick being processed): the next tick, never this advance. */
	if (tick <= w->now_tick)
		tick = w->now_tick + 1;
	t->tick = tick;
	slot_link(w, t);
	w->count++;
}

bool dps_wheel_cancel(struct dps_wheel *w, struct dps_timer *t)
{
	if (!dps_timer_is_pending(t))
		return false;
	link_del(&t->link);
	w->count--;
	return true;
}

/* Fire the timers of the slot of tick whose time has come; re-link the others. */
static unsigned slot_run(struct dps_wheel *w, uint64_t tick, uint64_t now_ns)
{
	uint64_t slot = tick & w->mask;
	struct dps_wheel_link pending;
	unsigned fired = 0;

	/* Detach the slot first: callbacks may add to it, or cancel what is left in pending. */
	link_splice(&w->slots[slot], &pending);
	w->busy[slot / 64] &= ~(UINT64_C(1) << (slot % 64));
	while (!link_is_empty(&pending)) {
		struct dps_timer *t = dps_container_of(pending.next, struct dps_timer, link);

		link_del(&t->link);
		if (t->tick <= tick) {
			w->count--;
			t->fn(t, now_ns);
			fired++;
		} else {
			slot_link(w, t); /* a later revolution */
		}
	}
	return fired;
}

unsigned dps_wheel_advance(struct dps_wheel *w, uint64_t now_ns)
{
	uint64_t target = now_ns / w->tick_ns;
	unsigned fired = 0;

	if (target <= w->now_tick)
		return 0;
	if (w->count == 0) {
		w->now_tick = target;
		return 0;
	}
	/* More than a revolution behind: every slot once, ending at target. A timer in the slot
	 * of tick k (target - nslots < k <= target) is due iff its tick <= k. */
	if (target - w->now_tick > w->mask + 1)
		w->now_tick = target - (w->mask + 1);
	while (w->now_tick < target) {
		/* Advance first, so that a callback adding an overdue timer lands on a later tick. */
		w->now_tick++;
		fired += slot_run(w, w->now_tick, now_ns);
		if (w->count == 0) {
			w->now_tick = target;
			break;
		}
	}
	return fired;
}

uint64_t dps_wheel_next_expiry(struct dps_wheel *w)
{
	uint64_t nslots = w->mask + 1, first = (w->now_tick + 1) & w->mask;
	uint64_t d = 0;

	if (w->count == 0)
		return UINT64_MAX;
	/* Walk the bitmap from the next tick's slot, wrapping once. */
	while (d < nslots) {
		uint64_t slot = (first + d) & w->mask;
		uint64_t word = w->busy[slot / 64] >> (slot % 64);

		if (word == 0) {
			d += 64 - slot % 64;
			continue;
		}
		d += (uint64_t)__builtin_ctzll(word);
		if (d >= nslots)
			break;
		slot = (first + d) & w->mask;
		if (!link_is_empty(&w->slots[slot]))
			return (w->now_tick + 1 + d) * w->tick_ns;
		w->busy[slot / 64] &= ~(UINT64_C(1) << (slot % 64));
		d++;
	}
	/* Unreachable while count > 0; stay safe. */
	return (w->now_tick + 1) * w->tick_ns;
}
