/* libFuzzer target for the Sieve interpreter over random messages
 * (server/sieve/ tests and actions, storage/message underneath). The
 * first byte picks one of the scripts below, which together use every
 * test, match type, comparator and action with variables, index, date,
 * body transforms, editheader and vacation; the rest is the message.
 * Invariants: the plan always has an action (a kept, filed, redirected,
 * rejected or discarded message: never lost), an edited header ends with
 * its blank line, and the run is bounded by the CPU step limit. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "server/sieve/sieve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const scripts[] = {
	"require [\"fileinto\", \"variables\", \"relational\", \"comparator-i;ascii-numeric\","
	" \"imap4flags\", \"subaddress\", \"index\", \"date\"];\n"
	"if header :matches \"subject\" \"*[*]*?*\" { set \"a\" \"${1}-${2}-${4}\";"
	" fileinto :flags [\"\\\\Seen\", \"${a}\"] \"Lists/${2}\"; }\n"
	"if address :detail :is [\"to\", \"cc\"] [\"x\", \"y\"] { addflag \"$Detail\"; }\n"
	"if address :user :contains :index 2 :last \"from\" \"a\" { setflag \"\\\\Flagged\"; }\n"
	"if header :count \"ge\" :comparator \"i;ascii-numeric\" \"received\" \"3\" { keep; }\n"
	"if date :value \"gt\" \"date\" \"date\" \"2010-01-01\" { removeflag \"x\"; }\n"
	"if date :originalzone \"date\" \"weekday\" [\"0\", \"6\"] { addflag \"weekend\"; }\n",

	"require [\"body\", \"fileinto\", \"variables\", \"copy\", \"mailbox\"];\n"
	"if body :content \"text\" :contains \"free\" { fileinto :copy :create \"Spam\"; }\n"
	"if body :raw :matches \"*--*boundary*\" { set :upper :length \"n\" \"${1}\"; }\n"
	"if body :text :is \"\" { discard; }\n"
	"if body :content [\"multipart\", \"image/png\", \"\"] :contains \"x\" { stop; }\n"
	"if string :matches \"${n}\" \"?*\" { fileinto \"n${1}\"; }\n",

	"require [\"vacation\", \"vacation-seconds\", \"envelope\", \"variables\"];\n"
	"if envelope :all :matches \"from\" \"*@*\" { set \"d\" \"${2}\"; }\n"
	"vacation :seconds 3600 :subject \"Away ${d}\" :addresses [\"bob@example.net\"]"
	" :handle \"h\" \"I am away\";\n",

	"require [\"editheader\", \"variables\", \"index\", \"fileinto\"];\n"
	"addheader \"X-Loft\" \"één ${1}\";\n"
	"addheader :last \"X-Last\" \"value\";\n"
	"deleteheader :index 1 :contains \"subject\" \"a\";\n"
	"deleteheader :matches \"x-*\" \"*\";\n"
	"deleteheader \"to\";\n"
	"if exists [\"from\", \"date\"] { fileinto \"Both\"; }\n",

	"require [\"reject\", \"ereject\", \"duplicate\", \"spamtest\", \"relational\","
	" \"comparator-i;ascii-numeric\"];\n"
	"if duplicate :header \"message-id\" :seconds 60 { discard; stop; }\n"
	"if spamtest :value \"ge\" :comparator \"i;ascii-numeric\" \"5\" { reject \"spam\"; }\n"
	"elsif size :over 10K { ereject \"too big\"; } else { redirect \"a@example.com\"; }\n",

	"require [\"variables\", \"date\", \"relational\", \"imap4flags\", \"copy\"];\n"
	"if currentdate :zone \"+0530\" :matches \"iso8601\" \"*T*\" { set \"t\" \"${2}\"; }\n"
	"set :quotewildcard :lowerfirst \"q\" \"${t}*?\\\\\";\n"
	"if hasflag :count \"eq\" \"0\" { addflag \"f\" [\"a b\", \"c\"]; }\n"
	"if not anyof (header :is \"x\" \"y\", allof (true, not false)) { stop; }\n"
	"if header :value \"lt\" [\"subject\", \"from\"] [\"m\", \"\"] { redirect :copy \"c@d.e\"; }\n",
};
#define N_SCRIPTS (sizeof(scripts) / sizeof(scripts[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sieve_env *env;
	static struct sieve_script *compiled[N_SCRIPTS];
	if (env == NULL) {
		struct sieve_settings set;
		memset(&set, 0, sizeof(set));
		sieve_limits_default(&set.limits);
		set.limits.max_steps = 50000;
		set.limits.max_body_size = 65536;
		set.cache_size = 4;
		env = sieve_env_create(&set);
		for (size_t i = 0; i < N_SCRIPTS; i++) {
			char *err = NULL;
			if (sieve_compile(sieve_env_limits(env), "fuzz", scripts[i], strlen(scripts[i]),
					  &compiled[i], &err) != 0) {
				fprintf(stderr, "script %zu: %s\n", i, err);
				abort();
			}
		}
	}
	if (size < 1)
		return 0;
	int fd = memfd_create("msg", 0);
	if (fd < 0)
		abort();
	if (size > 1 && write(fd, data + 1, size - 1) != (ssize_t)(size - 1))
		abort();
	struct sieve_delivery d;
	memset(&d, 0, sizeof(d));
	d.user_address = "bob@example.net";
	d.mail_from = (data[0] & 0x80) ? "" : "alice+tag@example.org";
	d.rcpt_to = "bob+x@example.net";
	d.fd = fd;
	d.size = size - 1;
	d.now = 1600000000;
	d.spam_tested = (data[0] & 0x40) != 0;
	d.spam_score = data[0] % 11;
	d.compiled = compiled[data[0] % N_SCRIPTS];
	struct sieve_plan *p = NULL;
	(void)sieve_deliver_plan(env, &d, &p);
	if (p == NULL || p->n_actions == 0)
		abort();
	if (p->header != NULL && (p->header_len < 2 || memcmp(p->header + p->header_len - 2,
							       "\r\n", 2) != 0))
		abort();
	sieve_plan_free(&p);
	close(fd);
	return 0;
}
