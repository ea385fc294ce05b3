/* Unit tests of the Sieve compiler (server/sieve/parse.c, validate.c,
 * compile.c): every lexical, grammar and validation error the compiler can
 * report, each with its line and column, on an exact-size copy of the
 * script (so a read past its end trips ASan); the scripts that must
 * compile (every command, test, tag and extension); and the limits of
 * script size and nesting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/xmem.h"
#include "server/sieve/sieve.h"
#include "storage/message/message.h"

static struct sieve_limits lim;

static int compile(const char *text, char **err_r)
{
	size_t len = strlen(text);
	char *copy = xmalloc(len ? len : 1);
	memcpy(copy, text, len);
	struct sieve_script *s = NULL;
	int r = sieve_compile(&lim, "t", copy, len, &s, err_r);
	if (r == 0) {
		assert_non_null(s);
		assert_true(sieve_script_memory(s) > 0);
		sieve_script_unref(&s);
	} else {
		assert_null(s);
	}
	free(copy);
	return r;
}

static void ok(const char *text)
{
	char *err = NULL;
	int r = compile(text, &err);
	if (r != 0)
		fail_msg("expected to compile:\n%s\nerror: %s", text, err ? err : "?");
	assert_null(err);
}

/* The first error line must be "line L, column C: <starts with what>". */
static void bad(const char *text, unsigned line, unsigned col, const char *what)
{
	char *err = NULL;
	int r = compile(text, &err);
	if (r == 0)
		fail_msg("expected an error:\n%s", text);
	assert_non_null(err);
	char want[512];
	snprintf(want, sizeof(want), "line %u, column %u: %s", line, col, what);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("script:\n%s\nwant: %s\ngot:  %s", text, want, err);
	free(err);
}

static void test_lexer_errors(void **state)
{
	(void)state;
	bad("keep", 1, 5, "expected ';' or '{' after the command's arguments, found end of script");
	bad("\"abc", 1, 1, "unterminated string");
	bad("keep; /* never closed", 1, 7, "unterminated comment '/*'");
	bad("set \"a\" text: x\n.\n;", 1, 9, "'text:' must be followed by the end of the line");
	bad("require \"variables\";\nset \"a\" text:\nline\n", 2, 9,
	    "unterminated multi-line string");
	bad("stop; 12x;", 1, 7, "invalid number");
	bad("size :over 99999999999999999999K;", 1, 12, "number too large");
	bad("size :over 10000000000G;", 1, 12, "number too large");
	bad("keep; : ;", 1, 7, "':' must start a tag such as ':is'");
	bad("keep; @", 1, 7, "unexpected character '@'");
	bad("keep; \x01", 1, 7, "unexpected character 0x01");
	bad("reject \"\xff\";", 1, 8, "string is not valid UTF-8");
	bad("require \"reject\";\nreject text:\n\xc3\n.\n;", 2, 8, "string is not valid UTF-8");
}

static void test_grammar_errors(void **state)
{
	(void)state;
	bad("if true { keep;", 1, 16, "expected a command or '}', found end of script");
	bad("}", 1, 1, "expected a command, found '}'");
	bad("keep }", 1, 6, "expected ';' or '{' after the command's arguments, found '}'");
	bad("require [\"a\" \"b\"];", 1, 14, "expected ',' or ']', found string");
	bad("require [];", 1, 10, "expected a string in the list, found ']'");
	bad("require [1];", 1, 10, "expected a string in the list, found number");
	bad("if anyof(true ; false) { }", 1, 15, "expected ',' or ')', found ';'");
	/* a test's last argument may be a test: "true false" is true with a test */
	bad("if anyof(true false) { }", 1, 10, "'true' takes no test");
	bad("if anyof() { }", 1, 10, "expected a test, found ')'");
	bad("if anyof(true,) { }", 1, 15, "expected a test, found ')'");
	bad("\"s\";", 1, 1, "expected a command, found string");
}

static void test_validation_errors(void **state)
{
	(void)state;
	bad("frobnicate;", 1, 1, "unknown command 'frobnicate'");
	bad("if frob { }", 1, 4, "unknown test 'frob'");
	bad("true;", 1, 1, "'true' is a test, not a command");
	bad("if keep { }", 1, 4, "'keep' is a command, not a test");
	bad("fileinto \"x\";", 1, 1, "'fileinto' needs require \"fileinto\"");
	bad("require \"nope\";", 1, 9, "unsupported extension \"nope\"");
	bad("keep;\nrequire \"fileinto\";", 2, 1, "'require' must come before every other command");
	bad("if true { require \"fileinto\"; }", 1, 11,
	    "'require' must come before every other command");
	bad("elsif true { }", 1, 1, "'elsif' without 'if' before it");
	bad("keep; else { }", 1, 7, "'else' without 'if' before it");
	bad("if true;", 1, 1, "'if' needs a block { ... }");
	bad("keep { }", 1, 1, "'keep' takes no block; end it with ';'");
	bad("if true true { }", 1, 4, "'true' takes no test");
	bad("keep \"a\" { }", 1, 1, "'keep' takes 0 positional arguments, not 1");
	bad("if { }", 1, 1, "'if' needs exactly one test");
	bad("if (true) { }", 1, 1, "'if' needs exactly one test (without parentheses)");
	bad("if allof true { }", 1, 4, "'allof' needs a list of tests in parentheses");
	bad("if not (true, false) { }", 1, 4, "'not' needs exactly one test");
	bad("keep true;", 1, 1, "'keep' takes no test");
	bad("if header :frob \"a\" \"b\" { }", 1, 11, "unknown tag ':frob' for 'header'");
	bad("if header :is :is \"a\" \"b\" { }", 1, 15, "tag ':is' given twice");
	bad("if header :is :contains \"a\" \"b\" { }", 1, 15,
	    "tags ':is' and ':contains' cannot be used together");
	bad("if header \"a\" :is \"b\" { }", 1, 15,
	    "tag ':is' after a positional argument of 'header' (tags come first)");
	bad("if header :comparator { }", 1, 11, "tag ':comparator' needs a value");
	bad("if header :comparator 1 \"a\" \"b\" { }", 1, 23, "tag ':comparator' needs a string");
	bad("if header :comparator [\"a\"] \"a\" \"b\" { }", 1, 23,
	    "tag ':comparator' needs a string");
	bad("if header :comparator \"i;nope\" \"a\" \"b\" { }", 1, 23,
	    "unknown comparator \"i;nope\"");
	bad("if header :comparator \"i;ascii-numeric\" \"a\" \"b\" { }", 1, 23,
	    "comparator \"i;ascii-numeric\" needs require \"comparator-i;ascii-numeric\"");
	bad("require \"comparator-i;ascii-numeric\";\n"
	    "if header :contains :comparator \"i;ascii-numeric\" \"a\" \"b\" { }", 2, 4,
	    "comparator \"i;ascii-numeric\" only supports :is, :value and :count");
	bad("if header :count \"eq\" \"a\" \"1\" { }", 1, 11, "tag ':count' needs require \"relational\"");
	bad("require \"relational\";\nif header :value \"xx\" \"a\" \"1\" { }", 2, 18,
	    "unknown relational operator \"xx\"");
	bad("if header \"a\" { }", 1, 4, "'header' takes 2 positional arguments, not 1");
	bad("if header \"a\" \"b\" \"c\" { }", 1, 4, "'header' takes 2 positional arguments, not 3");
	bad("if header 1 \"b\" { }", 1, 11, "'header' needs a string list as argument 1");
	bad("redirect [\"a@b\"];", 1, 10, "'redirect' needs a string as argument 1");
	bad("if size 1 { }", 1, 4, "'size' takes 0 positional arguments, not 1");
	bad("if size { }", 1, 4, "'size' needs :over or :under");
	bad("if size :over 1 :under 2 { }", 1, 17, "tags ':over' and ':under' cannot be used together");
	bad("if header \"bad name\" \"x\" { }", 1, 11, "invalid header name \"bad name\"");
	bad("if exists \"a:b\" { }", 1, 11, "invalid header name \"a:b\"");
	bad("redirect \"nobody\";", 1, 10, "invalid redirect address \"nobody\"");
	bad("redirect \"a@\";", 1, 10, "invalid redirect address \"a@\"");
	bad("require \"fileinto\"; fileinto \"\";", 1, 30, "invalid mailbox name \"\"");
	bad("require \"envelope\"; if envelope \"bcc\" \"x\" { }", 1, 33,
	    "invalid envelope part \"bcc\"");
	bad("if address :user \"to\" \"x\" { }", 1, 12, "tag ':user' needs require \"subaddress\"");
	bad("if header :index 1 \"a\" \"b\" { }", 1, 11, "tag ':index' needs require \"index\"");
	bad("require \"index\";\nif header :last \"a\" \"b\" { }", 2, 4,
	    "':last' needs ':index' in 'header'");
	bad("require \"index\";\nif header :index 0 \"a\" \"b\" { }", 2, 18,
	    ":index needs a number from 1");
	bad("require \"fileinto\"; fileinto :copy \"x\";", 1, 30, "tag ':copy' needs require \"copy\"");
	bad("require \"fileinto\"; fileinto :create \"x\";", 1, 30,
	    "tag ':create' needs require \"mailbox\"");
	bad("keep :flags \"x\";", 1, 6, "tag ':flags' needs require \"imap4flags\"");
	bad("require \"vacation\"; vacation :seconds 1 \"x\";", 1, 30,
	    "tag ':seconds' needs require \"vacation-seconds\"");
	bad("require [\"vacation\", \"vacation-seconds\"]; vacation :days 1 :seconds 1 \"x\";",
	    1, 60, "tags ':days' and ':seconds' cannot be used together");
	bad("require \"vacation\"; vacation :from \"me\" \"x\";", 1, 36,
	    "invalid :from address \"me\"");
	bad("require \"vacation\"; vacation :addresses [\"a@b\", \"c\"] \"x\";", 1, 41,
	    "invalid address \"c\"");
	bad("require \"variables\"; set \"1a\" \"x\";", 1, 26, "invalid variable name \"1a\"");
	bad("require \"variables\"; set :lower :upper \"a\" \"x\";", 1, 33,
	    "tags ':lower' and ':upper' cannot be used together");
	bad("require \"imap4flags\"; setflag \"v\" \"x\";", 1, 23,
	    "a variable name in 'setflag' needs require \"variables\"");
	bad("require [\"imap4flags\", \"variables\"]; setflag \"a-b\" \"x\";", 1, 46,
	    "invalid variable name \"a-b\"");
	bad("require \"date\"; if date \"date\" \"century\" \"x\" { }", 1, 32,
	    "invalid date part \"century\"");
	bad("require \"date\"; if date :zone \"+2500\" \"date\" \"year\" \"x\" { }", 1, 31,
	    "invalid time zone \"+2500\"");
	bad("require \"date\"; if date :zone \"+0100\" :originalzone \"date\" \"year\" \"x\" { }",
	    1, 39, "tags ':zone' and ':originalzone' cannot be used together");
	bad("require \"date\"; if currentdate \"nope\" \"x\" { }", 1, 32,
	    "invalid date part \"nope\"");
	bad("require \"editheader\"; addheader \"Received\" \"x\";", 1, 33,
	    "invalid header name to add \"Received\"");
	bad("require \"editheader\"; deleteheader \"auto-submitted\";", 1, 36,
	    "invalid header name to delete \"auto-submitted\"");
	bad("require \"editheader\"; deleteheader;", 1, 23,
	    "'deleteheader' takes up to 2 positional arguments, not 0");
	bad("require \"duplicate\"; if duplicate :header \"x\" :uniqueid \"y\" { }", 1, 47,
	    "tags ':header' and ':uniqueid' cannot be used together");
	bad("require \"duplicate\"; if duplicate :header \"a b\" { }", 1, 43,
	    "invalid header name \"a b\"");
	bad("require \"include\"; include \"../x\";", 1, 28, "invalid script name \"../x\"");
	bad("require \"include\"; include :personal :global \"x\";", 1, 38,
	    "tags ':personal' and ':global' cannot be used together");
	bad("require \"include\"; global \"x\";", 1, 20, "'global' needs require \"variables\"");
	bad("if spamtest \"1\" { }", 1, 4, "'spamtest' needs require \"spamtest\"");
	bad("require \"spamtest\"; if spamtest :percent \"1\" { }", 1, 33,
	    "tag ':percent' needs require \"spamtestplus\"");
	bad("require \"body\"; if body :raw :text \"x\" { }", 1, 30,
	    "tags ':raw' and ':text' cannot be used together");
	bad("require \"body\"; if body :content \"x\" { }", 1, 20,
	    "'body' takes 1 positional argument, not 0");
}

static void test_valid_scripts(void **state)
{
	(void)state;
	ok("");
	ok("# only a comment");
	ok("/* a bracket comment */ keep;");
	ok("keep; discard; stop;");
	ok("if true { keep; } elsif false { discard; } else { stop; }");
	ok("if anyof (true, not false, allof (true, true)) { keep; }");
	ok("IF TRUE { KEEP; }");
	ok("redirect \"a@example.org\";");
	ok("if size :over 1K { keep; } if size :under 1M { keep; } if size :over 2G { keep; }");
	ok("if header :is [\"from\", \"to\"] [\"a\", \"b\"] { keep; }");
	ok("if header :comparator \"i;octet\" :matches \"subject\" \"*x?\\\\*\" { keep; }");
	ok("if address :all :is \"from\" \"a@b\" { keep; } if address :domain \"to\" \"b\" { }");
	ok("if exists [\"x-a\", \"x-b\"] { }");
	ok("require \"reject\"; reject text:\nline 1\n..dotted\n.\n;");
	ok("require \"ereject\"; ereject \"no\";");
	ok("require [\"fileinto\", \"copy\", \"mailbox\", \"imap4flags\"];\n"
	   "fileinto :copy :create :flags [\"\\\\Seen\", \"$x\"] \"A/B\";\n"
	   "keep :flags \"\\\\Flagged\";");
	ok("require \"envelope\"; if envelope :localpart :is [\"from\", \"TO\"] \"x\" { }");
	ok("require [\"imap4flags\", \"variables\"]; setflag \"\\\\Seen\"; addflag \"v\" \"a b\";\n"
	   "removeflag \"x\"; if hasflag :contains \"a\" { } if hasflag \"v\" \"a\" { }");
	ok("require [\"vacation\", \"vacation-seconds\"];\n"
	   "vacation :seconds 0 :subject \"s\" :from \"a@b\" :addresses [\"c@d\"] :mime "
	   ":handle \"h\" \"reason\";");
	ok("require \"vacation\"; vacation :days 7 \"x\";");
	ok("require \"body\"; if body :raw :contains \"x\" { } if body :content [\"text\", \"\"] "
	   ":matches \"*\" { } if body :text :is \"\" { }");
	ok("require \"variables\"; set :lower :upperfirst :quotewildcard :length \"a\" \"${b}\";\n"
	   "if string :matches \"${a}\" \"*\" { set \"b\" \"${1}\"; }");
	ok("require [\"relational\", \"comparator-i;ascii-numeric\"];\n"
	   "if header :count \"ge\" :comparator \"i;ascii-numeric\" \"received\" \"3\" { }\n"
	   "if header :value \"NE\" \"x\" \"y\" { }");
	ok("require \"subaddress\"; if address :user \"to\" \"a\" { } if address :detail \"to\" \"\" { }");
	ok("require [\"date\", \"index\", \"relational\"];\n"
	   "if date :index 2 :last :zone \"-0800\" :value \"ge\" \"date\" \"hour\" \"12\" { }\n"
	   "if date :originalzone \"date\" \"iso8601\" \"*\" { }\n"
	   "if currentdate :zone \"+0000\" \"weekday\" \"0\" { }");
	ok("require [\"index\"]; if header :index 1 :last \"received\" \"x\" { }\n"
	   "if address :index 2 \"to\" \"x\" { }");
	ok("require \"editheader\"; addheader \"X-A\" \"b\"; addheader :last \"X-B\" \"c\";\n"
	   "deleteheader \"x-a\"; deleteheader :index 1 :last :contains \"x-b\" [\"c\"];");
	ok("require \"duplicate\"; if duplicate { } if duplicate :handle \"h\" :header \"x\" "
	   ":seconds 60 :last { } if duplicate :uniqueid \"u\" { }");
	ok("require [\"include\", \"variables\"]; include \"other\"; include :global :once "
	   ":optional \"g\"; global [\"a\", \"b\"]; return;");
	ok("require \"spamtest\"; if spamtest \"5\" { }");
	ok("require [\"spamtestplus\", \"relational\", \"comparator-i;ascii-numeric\"];\n"
	   "if spamtest :percent :value \"ge\" :comparator \"i;ascii-numeric\" \"50\" { }");
	ok("require \"mailbox\"; if mailboxexists [\"A\", \"B\"] { }");
	ok("require [\"comparator-i;octet\", \"comparator-i;ascii-casemap\"]; keep;");
	/* undefined escapes are the character itself (RFC 5228 2.4.2) */
	ok("if header :is \"x\" \"\\a\\\\\\\"\" { }");
	/* CRLF and bare LF line ends alike */
	ok("require \"fileinto\";\r\nfileinto \"A\";\r\n");
}

static void test_limits(void **state)
{
	(void)state;
	struct sieve_limits saved = lim;
	lim.max_script_size = 16;
	bad("keep; keep; keep; keep;", 1, 1, "script too large: 23 bytes (max_script_size 16)");
	lim = saved;
	lim.max_nesting = 3;
	ok("if true { if true { if true { keep; } } }");
	bad("if true { if true { if true { if true { keep; } } } }", 1, 34,
	    "tests nested too deeply");
	bad("if true { if true { if true { keep { } } } }", 1, 36, "blocks nested too deeply");
	bad("if not not not not true { }", 1, 16, "tests nested too deeply");
	bad("if anyof(anyof(anyof(true))) { }", 1, 21, "tests nested too deeply");
	lim = saved;
	/* deep nesting far past the limit fails cleanly, never by stack */
	struct msg_buf b = { 0 };
	for (int i = 0; i < 100000; i++)
		msg_buf_puts(&b, "if true {");
	msg_buf_putc(&b, '\0');
	char *err = NULL;
	assert_int_equal(compile(b.data, &err), SIEVE_ELIMIT);
	assert_non_null(strstr(err, "nested too deeply"));
	free(err);
	msg_buf_free(&b);
}

static void test_many_errors_capped(void **state)
{
	(void)state;
	char *err = NULL;
	assert_int_equal(compile("frob;", &err), SIEVE_ESYNTAX);
	assert_null(strchr(err, '\n')); /* one error, no trailing newline */
	free(err);
	assert_string_equal(sieve_strerror(SIEVE_ESYNTAX), "script error");
	assert_string_equal(sieve_action_name(SIEVE_ACT_FILEINTO), "fileinto");
	assert_non_null(strstr(sieve_capability(), "editheader"));
}

static int setup(void **state)
{
	(void)state;
	sieve_limits_default(&lim);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lexer_errors),
		cmocka_unit_test(test_grammar_errors),
		cmocka_unit_test(test_validation_errors),
		cmocka_unit_test(test_valid_scripts),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_many_errors_capped),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
