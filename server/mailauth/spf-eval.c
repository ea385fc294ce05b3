/* check_host() (RFC 7208 4) as a state machine that asks for DNS answers
 * instead of waiting for them. State: a stack of frames (the domain being
 * checked, its parsed record, the next term; include pushes a frame,
 * redirect replaces one), the term in progress (mx hosts, the ptr
 * validation shared with %{p}), the counters of terms that cause lookups
 * and of void lookups (4.6.4), and at most one outstanding question.
 * After a fail, the exp= of the record that decided is fetched and
 * expanded (6.2); it never counts toward the limits. */
#include "server/mailauth/spf.h"

#include <string.h>

#include "lib/xmem.h"

#define MX_MAX 10      /* RFC 7208 4.6.4: MX records per mx term */
#define PTR_MAX 10     /* PTR names looked at */

enum pend {
	P_NONE,
	P_RECORD,          /* TXT of the top frame's domain */
	P_A,               /* a mechanism */
	P_MX,              /* MX list of an mx mechanism */
	P_MX_ADDR,         /* addresses of mx host term.i */
	P_EXISTS,
	P_PTR_LIST,        /* PTR of the client address */
	P_PTR_ADDR,        /* forward addresses of ptr name ptr_i */
	P_EXP,             /* TXT of the exp= domain */
};

/* What continues once the %{p} / ptr validation is known. */
enum resume { R_TERM, R_REDIRECT, R_EXP_DOMAIN, R_EXP_TEXT };

struct frame {
	char *domain;
	struct spf_record *rec;
	size_t next;
	bool included;     /* pushed by include: "none" is a permerror */
	bool redirected;   /* reached by redirect: "none" is a permerror */
};

struct names {
	char **v;
	size_t n;
};

struct spf_eval {
	struct spf_ip ip;
	bool ip_ok;
	char *sender, *local, *sender_domain, *helo, *receiver;
	uint64_t now;
	unsigned lookup_limit, void_limit;

	struct frame *stack;
	size_t depth, cap;
	unsigned lookups, voids;

	enum pend pend;
	char *qname;
	enum dns_type qtype;

	/* the term in progress */
	bool counted;              /* its lookup was counted */
	char *target;
	struct names hosts;        /* mx */
	size_t host_i;

	/* ptr validation, done once per check */
	int ptr_state;             /* 0 not yet, 1 running, 2 done */
	bool ptr_void_counted;
	bool ptr_for_mech;
	enum resume resume;
	struct names ptr_names, validated;
	size_t ptr_i;

	/* exp= after a fail */
	bool exp_phase;
	char *exp_spec, *exp_domain, *exp_text;

	bool done;
	enum spf_result result;
	char *reason;
	char *explanation;
	char *start_domain;
};

static void names_free(struct names *n)
{
	for (size_t i = 0; i < n->n; i++)
		free(n->v[i]);
	x_free(&n->v);
	n->n = 0;
}

static void names_add(struct names *n, const char *s)
{
	n->v = xrealloc(n->v, (n->n + 1) * sizeof(*n->v));
	n->v[n->n++] = xstrdup(s);
}

static void set_reason(struct spf_eval *e, const char *fmt, const char *arg)
{
	free(e->reason);
	e->reason = arg != NULL ? xasprintf(fmt, arg) : xstrdup(fmt);
}

static void term_clear(struct spf_eval *e)
{
	e->counted = false;
	x_free(&e->target);
	names_free(&e->hosts);
	e->host_i = 0;
}

static void finish(struct spf_eval *e, enum spf_result r, const char *why, const char *arg)
{
	e->done = true;
	e->result = r;
	e->pend = P_NONE;
	set_reason(e, why, arg);
	term_clear(e);
}

static void ask(struct spf_eval *e, enum pend p, const char *name, enum dns_type t)
{
	e->pend = p;
	free(e->qname);
	e->qname = xstrdup(name);
	e->qtype = t;
}

static struct frame *top(struct spf_eval *e)
{
	return &e->stack[e->depth - 1];
}

static void push_frame(struct spf_eval *e, const char *domain, bool included)
{
	if (e->depth == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 4;
		e->stack = xrealloc(e->stack, e->cap * sizeof(*e->stack));
	}
	struct frame *f = &e->stack[e->depth++];
	memset(f, 0, sizeof(*f));
	f->domain = xstrdup(domain);
	f->included = included;
}

static void pop_frame(struct spf_eval *e)
{
	struct frame *f = top(e);
	free(f->domain);
	spf_record_free(&f->rec);
	e->depth--;
}

/* ---- context ---- */

static const char *choose_p(const struct spf_eval *e, const char *domain)
{
	const char *sub = NULL;
	size_t dl = strlen(domain);
	for (size_t i = 0; i < e->validated.n; i++) {
		const char *v = e->validated.v[i];
		size_t vl = strlen(v);
		if (dns_name_eq(v, domain))
			return v;
		if (sub == NULL && vl > dl && v[vl - dl - 1] == '.' && dns_name_eq(v + vl - dl, domain))
			sub = v;
	}
	if (sub != NULL)
		return sub;
	return e->validated.n > 0 ? e->validated.v[0] : "unknown";
}

static char *expand(struct spf_eval *e, const char *s, const char *domain, bool exp, bool dom)
{
	struct spf_macro_ctx c = {
		.sender = e->sender,
		.local = e->local,
		.sender_domain = e->sender_domain,
		.domain = domain,
		.ip = &e->ip,
		.helo = e->helo,
		.receiver = e->receiver,
		.p = choose_p(e, domain),
		.now = e->now,
	};
	return spf_macro_expand(s, &c, exp, dom);
}

/* %{p} needs the ptr validation first: start it, come back to r. */
static bool need_p(struct spf_eval *e, const char *s, enum resume r)
{
	if (s == NULL || e->ptr_state == 2 || !spf_macro_uses_p(s))
		return false;
	char rev[DNS_REVERSE_MAX];
	dns_reverse_name(e->ip.family, e->ip.a, rev);
	e->ptr_state = 1;
	e->ptr_for_mech = false;
	e->resume = r;
	ask(e, P_PTR_LIST, rev, DNS_T_PTR);
	return true;
}

/* ---- matching ---- */

static bool in_prefix(const uint8_t *net, const uint8_t *addr, int bits)
{
	int full = bits / 8, rest = bits % 8;
	if (memcmp(net, addr, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (net[full] & mask) == (addr[full] & mask);
}

static bool answer_has_ip(const struct spf_eval *e, const struct dns_answer *a, int c4, int c6)
{
	for (size_t i = 0; i < a->n; i++) {
		const struct dns_rr *rr = &a->rr[i];
		if (e->ip.family == 4 && rr->type == DNS_T_A && in_prefix(rr->u.a, e->ip.a, c4))
			return true;
		if (e->ip.family == 6 && rr->type == DNS_T_AAAA &&
		    in_prefix(rr->u.aaaa, e->ip.a, c6))
			return true;
	}
	return false;
}

static enum dns_type addr_type(const struct spf_eval *e)
{
	return e->ip.family == 4 ? DNS_T_A : DNS_T_AAAA;
}

/* ---- results of frames and terms ---- */

static void start_exp(struct spf_eval *e, const struct frame *f);

/* The top frame decided (a term matched, or its default neutral). */
static void frame_result(struct spf_eval *e, enum spf_result r, const char *why,
			 const char *arg)
{
	term_clear(e);
	struct frame *f = top(e);
	if (e->depth == 1) {
		finish(e, r, why, arg);
		if (r == SPF_FAIL && f->rec != NULL && f->rec->exp != NULL)
			start_exp(e, f);
		pop_frame(e);
		return;
	}
	pop_frame(e);
	/* the parent's current term is the include that pushed f */
	struct frame *p = top(e);
	const struct spf_term *t = &p->rec->terms[p->next];
	if (r == SPF_PASS) {
		frame_result(e, t->qualifier, "matched %s", t->text);
	} else {
		p->next++;
	}
}

static void term_match(struct spf_eval *e, const struct spf_term *t)
{
	frame_result(e, t->qualifier, "matched %s", t->text);
}

static void term_nomatch(struct spf_eval *e)
{
	term_clear(e);
	top(e)->next++;
}

/* A lookup that found nothing: counts toward the void limit. */
static bool void_lookup(struct spf_eval *e)
{
	if (++e->voids > e->void_limit) {
		finish(e, SPF_PERMERROR, "too many void DNS lookups", NULL);
		return false;
	}
	return true;
}

static void no_record(struct spf_eval *e, const struct frame *f)
{
	if (f->included)
		finish(e, SPF_PERMERROR, "no SPF record at included %s", f->domain);
	else if (f->redirected)
		finish(e, SPF_PERMERROR, "no SPF record at redirect %s", f->domain);
	else
		finish(e, SPF_NONE, "no SPF record at %s", f->domain);
}

/* ---- terms ---- */

static void ptr_finish_mech(struct spf_eval *e)
{
	const char *target = e->target;
	size_t tl = strlen(target);
	for (size_t i = 0; i < e->validated.n; i++) {
		const char *v = e->validated.v[i];
		size_t vl = strlen(v);
		if (dns_name_eq(v, target) ||
		    (vl > tl && v[vl - tl - 1] == '.' && dns_name_eq(v + vl - tl, target))) {
			struct frame *f = top(e);
			term_match(e, &f->rec->terms[f->next]);
			return;
		}
	}
	term_nomatch(e);
}

static void start_term(struct spf_eval *e)
{
	struct frame *f = top(e);
	const struct spf_term *t = &f->rec->terms[f->next];
	switch (t->mech) {
	case SPF_M_ALL:
		term_match(e, t);
		return;
	case SPF_M_IP4:
		if (e->ip.family == 4 && in_prefix(t->addr, e->ip.a, t->cidr4))
			term_match(e, t);
		else
			term_nomatch(e);
		return;
	case SPF_M_IP6:
		if (e->ip.family == 6 && in_prefix(t->addr, e->ip.a, t->cidr6))
			term_match(e, t);
		else
			term_nomatch(e);
		return;
	default:
		break;
	}
	if (!e->counted) {
		if (++e->lookups > e->lookup_limit) {
			finish(e, SPF_PERMERROR, "too many DNS lookups", NULL);
			return;
		}
		e->counted = true;
	}
	if (need_p(e, t->domain_spec, R_TERM))
		return;
	free(e->target);
	e->target = t->domain_spec != NULL ? expand(e, t->domain_spec, f->domain, false, true)
					   : xstrdup(f->domain);
	if (e->target == NULL) {
		finish(e, SPF_PERMERROR, "invalid domain-spec in %s", t->text);
		return;
	}
	if (!dns_name_valid(e->target)) {
		/* RFC 7208 4.8: a target that is no valid name does not exist */
		if (t->mech == SPF_M_INCLUDE) {
			finish(e, SPF_PERMERROR, "invalid include target in %s", t->text);
			return;
		}
		if (void_lookup(e))
			term_nomatch(e);
		return;
	}
	switch (t->mech) {
	case SPF_M_INCLUDE: {
		char *target = e->target;
		e->target = NULL;
		push_frame(e, target, true);
		free(target);
		e->counted = false;
		return;
	}
	case SPF_M_A:
		ask(e, P_A, e->target, addr_type(e));
		return;
	case SPF_M_MX:
		ask(e, P_MX, e->target, DNS_T_MX);
		return;
	case SPF_M_EXISTS:
		ask(e, P_EXISTS, e->target, DNS_T_A);
		return;
	case SPF_M_PTR:
		if (e->ptr_state == 2) {
			ptr_finish_mech(e);
		} else {
			char rev[DNS_REVERSE_MAX];
			dns_reverse_name(e->ip.family, e->ip.a, rev);
			e->ptr_state = 1;
			e->ptr_for_mech = true;
			ask(e, P_PTR_LIST, rev, DNS_T_PTR);
		}
		return;
	default:
		return;
	}
}

static void do_redirect(struct spf_eval *e)
{
	struct frame *f = top(e);
	if (!e->counted) {
		if (++e->lookups > e->lookup_limit) {
			finish(e, SPF_PERMERROR, "too many DNS lookups", NULL);
			return;
		}
		e->counted = true;
	}
	if (need_p(e, f->rec->redirect, R_REDIRECT))
		return;
	char *target = expand(e, f->rec->redirect, f->domain, false, true);
	e->counted = false;
	if (target == NULL || !dns_name_valid(target)) {
		finish(e, SPF_PERMERROR, "invalid redirect target %s", f->rec->redirect);
		free(target);
		return;
	}
	free(f->domain);
	f->domain = target;
	spf_record_free(&f->rec);
	f->next = 0;
	f->redirected = true;
}

/* Advance until a question is needed or the result is known. */
static void run(struct spf_eval *e)
{
	while (!e->done && e->pend == P_NONE && e->depth > 0) {
		struct frame *f = top(e);
		if (f->rec == NULL) {
			ask(e, P_RECORD, f->domain, DNS_T_TXT);
			return;
		}
		if (f->next < f->rec->n)
			start_term(e);
		else if (f->rec->redirect != NULL && !f->rec->has_all)
			do_redirect(e);
		else
			frame_result(e, SPF_NEUTRAL, "no term matched", NULL);
	}
}

/* ---- exp= (RFC 7208 6.2) ---- */

static void exp_done(struct spf_eval *e)
{
	e->exp_phase = false;
	e->pend = P_NONE;
	x_free(&e->exp_spec);
	x_free(&e->exp_domain);
	x_free(&e->exp_text);
}

static void exp_expand_text(struct spf_eval *e)
{
	if (need_p(e, e->exp_text, R_EXP_TEXT))
		return;
	char *x = expand(e, e->exp_text, e->exp_domain, true, false);
	if (x != NULL) {
		bool ascii = true;
		for (const char *p = x; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				ascii = false;
		if (ascii) {
			free(e->explanation);
			e->explanation = x;
			x = NULL;
		}
	}
	free(x);
	exp_done(e);
}

static void exp_lookup(struct spf_eval *e)
{
	if (need_p(e, e->exp_spec, R_EXP_DOMAIN))
		return;
	char *name = expand(e, e->exp_spec, e->exp_domain, false, true);
	if (name == NULL || !dns_name_valid(name)) {
		free(name);
		exp_done(e);
		return;
	}
	ask(e, P_EXP, name, DNS_T_TXT);
	free(name);
}

static void start_exp(struct spf_eval *e, const struct frame *f)
{
	e->exp_phase = true;
	e->exp_spec = xstrdup(f->rec->exp);
	e->exp_domain = xstrdup(f->domain);
	exp_lookup(e);
}

/* ---- answers ---- */

static void ptr_resume(struct spf_eval *e)
{
	e->ptr_state = 2;
	e->pend = P_NONE;
	if (e->ptr_for_mech) {
		ptr_finish_mech(e);
		return;
	}
	switch (e->resume) {
	case R_TERM: start_term(e); break;
	case R_REDIRECT: do_redirect(e); break;
	case R_EXP_DOMAIN: exp_lookup(e); break;
	case R_EXP_TEXT: exp_expand_text(e); break;
	}
}

static void ptr_next(struct spf_eval *e)
{
	while (e->ptr_i < e->ptr_names.n && !dns_name_valid(e->ptr_names.v[e->ptr_i]))
		e->ptr_i++;   /* a name that cannot be asked for is not validated */
	if (e->ptr_i < e->ptr_names.n) {
		ask(e, P_PTR_ADDR, e->ptr_names.v[e->ptr_i], addr_type(e));
		return;
	}
	ptr_resume(e);
}

static void mx_next(struct spf_eval *e)
{
	while (e->host_i < e->hosts.n && !dns_name_valid(e->hosts.v[e->host_i]))
		e->host_i++;   /* a null MX (RFC 7505, "."), or no valid name: no host */
	if (e->host_i < e->hosts.n) {
		ask(e, P_MX_ADDR, e->hosts.v[e->host_i], addr_type(e));
		return;
	}
	term_nomatch(e);
}

static void on_record(struct spf_eval *e, const struct dns_answer *a)
{
	struct frame *f = top(e);
	if (a->status == DNS_TEMPFAIL) {
		finish(e, SPF_TEMPERROR, "DNS error looking up the SPF record of %s", f->domain);
		return;
	}
	const struct dns_rr *found = NULL;
	size_t n = 0;
	for (size_t i = 0; a->status == DNS_ANSWER && i < a->n; i++) {
		if (spf_is_record(a->rr[i].u.txt.data, a->rr[i].u.txt.len)) {
			found = &a->rr[i];
			n++;
		}
	}
	if (n == 0) {
		no_record(e, f);
		return;
	}
	if (n > 1) {
		finish(e, SPF_PERMERROR, "more than one SPF record at %s", f->domain);
		return;
	}
	const char *why = NULL;
	if (spf_record_parse(found->u.txt.data, found->u.txt.len, &f->rec, &why) != 0) {
		char *msg = xasprintf("%s in the SPF record of %s", why, f->domain);
		finish(e, SPF_PERMERROR, msg, NULL);
		free(msg);
	}
}

void spf_eval_answer(struct spf_eval *e, const struct dns_answer *a)
{
	enum pend p = e->pend;
	e->pend = P_NONE;
	if (e->done && !e->exp_phase)
		return;
	struct frame *f = e->depth > 0 ? top(e) : NULL;
	const struct spf_term *t = f != NULL && f->rec != NULL && f->next < f->rec->n
					   ? &f->rec->terms[f->next] : NULL;
	bool temp = a->status == DNS_TEMPFAIL;
	bool none = a->status == DNS_NXDOMAIN || a->status == DNS_NODATA;
	switch (p) {
	case P_NONE:
		return;
	case P_RECORD:
		on_record(e, a);
		break;
	case P_A:
	case P_EXISTS:
		if (temp) {
			finish(e, SPF_TEMPERROR, "DNS error in %s", t->text);
		} else if (none) {
			if (void_lookup(e))
				term_nomatch(e);
		} else if (p == P_EXISTS || answer_has_ip(e, a, t->cidr4, t->cidr6)) {
			term_match(e, t);
		} else {
			term_nomatch(e);
		}
		break;
	case P_MX:
		if (temp) {
			finish(e, SPF_TEMPERROR, "DNS error in %s", t->text);
		} else if (none) {
			if (void_lookup(e))
				term_nomatch(e);
		} else if (a->n > MX_MAX) {
			finish(e, SPF_PERMERROR, "more than 10 MX records in %s", t->text);
		} else {
			for (size_t i = 0; i < a->n; i++)
				names_add(&e->hosts, a->rr[i].u.mx.host);
			e->host_i = 0;
			mx_next(e);
		}
		break;
	case P_MX_ADDR:
		if (temp) {
			finish(e, SPF_TEMPERROR, "DNS error in %s", t->text);
		} else if (!none && answer_has_ip(e, a, t->cidr4, t->cidr6)) {
			term_match(e, t);
		} else {
			e->host_i++;
			mx_next(e);
		}
		break;
	case P_PTR_LIST:
		names_free(&e->ptr_names);
		e->ptr_i = 0;
		if (none && e->ptr_for_mech && !e->ptr_void_counted) {
			e->ptr_void_counted = true;
			if (!void_lookup(e))
				break;
		}
		if (a->status == DNS_ANSWER)
			for (size_t i = 0; i < a->n && i < PTR_MAX; i++)
				names_add(&e->ptr_names, a->rr[i].u.name);
		ptr_next(e);
		break;
	case P_PTR_ADDR:
		if (a->status == DNS_ANSWER && answer_has_ip(e, a, 32, 128))
			names_add(&e->validated, e->ptr_names.v[e->ptr_i]);
		e->ptr_i++;
		ptr_next(e);
		break;
	case P_EXP: {
		const struct dns_rr *only = a->status == DNS_ANSWER && a->n == 1 ? &a->rr[0] : NULL;
		if (only == NULL || strlen(only->u.txt.data) != only->u.txt.len) {
			exp_done(e);
		} else {
			e->exp_text = xstrdup(only->u.txt.data);
			exp_expand_text(e);
		}
		break;
	}
	}
	if (e->exp_phase && e->pend == P_NONE)
		exp_done(e);
}

/* ---- life ---- */

/* RFC 7208 4.3: a <domain> that is no multi-label name of valid labels
 * gives "none" without any lookup. */
static bool domain_ok(const char *d)
{
	return d[0] != '\0' && d[0] != '[' && dns_name_valid(d) && strchr(d, '.') != NULL &&
	       d[strlen(d) - 1] != '.';
}

struct spf_eval *spf_eval_new(const struct spf_params *p)
{
	struct spf_eval *e = xcalloc(1, sizeof(*e));
	e->lookup_limit = p->lookup_limit;
	e->void_limit = p->void_limit;
	e->now = p->now;
	e->helo = xstrdup(p->helo != NULL ? p->helo : "");
	e->receiver = xstrdup(p->receiver != NULL && p->receiver[0] ? p->receiver : "unknown");
	const char *from = p->helo_identity || p->mail_from == NULL ? "" : p->mail_from;
	if (from[0] == '\0') {
		e->local = xstrdup("postmaster");
		e->sender_domain = xstrdup(e->helo);
	} else {
		const char *at = strrchr(from, '@');
		if (at == NULL) {
			e->local = xstrdup("postmaster");
			e->sender_domain = xstrdup(from);
		} else {
			e->local = at == from ? xstrdup("postmaster")
					      : xstrndup(from, (size_t)(at - from));
			e->sender_domain = xstrdup(at + 1);
		}
	}
	e->sender = xasprintf("%s@%s", e->local, e->sender_domain);
	e->start_domain = xstrdup(e->sender_domain);
	if (p->ip == NULL || spf_ip_parse(p->ip, &e->ip) != 0) {
		finish(e, SPF_PERMERROR, "invalid client address", NULL);
		return e;
	}
	e->ip_ok = true;
	if (!domain_ok(e->sender_domain)) {
		finish(e, SPF_NONE, "no valid domain to check: %s", e->sender_domain);
		return e;
	}
	push_frame(e, e->sender_domain, false);
	return e;
}

void spf_eval_free(struct spf_eval **ep)
{
	struct spf_eval *e = *ep;
	if (e == NULL)
		return;
	while (e->depth > 0)
		pop_frame(e);
	free(e->stack);
	term_clear(e);
	names_free(&e->ptr_names);
	names_free(&e->validated);
	exp_done(e);
	free(e->qname);
	free(e->sender);
	free(e->local);
	free(e->sender_domain);
	free(e->helo);
	free(e->receiver);
	free(e->reason);
	free(e->explanation);
	free(e->start_domain);
	x_free(ep);
}

enum spf_step spf_eval_step(struct spf_eval *e, const char **name_r, enum dns_type *type_r)
{
	if (e->pend == P_NONE)
		run(e);
	if (e->pend == P_NONE)
		return SPF_STEP_DONE;
	*name_r = e->qname;
	*type_r = e->qtype;
	return SPF_STEP_QUERY;
}

void spf_eval_abort(struct spf_eval *e, const char *why)
{
	if (e->exp_phase) {
		exp_done(e);
		return;
	}
	if (!e->done)
		finish(e, SPF_TEMPERROR, why, NULL);
}

enum spf_result spf_eval_result(const struct spf_eval *e)
{
	return e->result;
}

const char *spf_eval_explanation(const struct spf_eval *e)
{
	return e->explanation;
}

const char *spf_eval_reason(const struct spf_eval *e)
{
	return e->reason != NULL ? e->reason : "";
}

const char *spf_eval_sender(const struct spf_eval *e)
{
	return e->sender;
}

const char *spf_eval_domain(const struct spf_eval *e)
{
	return e->start_domain;
}

unsigned spf_eval_lookups(const struct spf_eval *e)
{
	return e->lookups;
}

unsigned spf_eval_voids(const struct spf_eval *e)
{
	return e->voids;
}
