# redirect, discard, reject, copy and stop
require ["fileinto", "copy", "reject"];
if header :contains "subject" "test" {
    redirect :copy "archive@example.net";
    fileinto :copy "Copies";
} elsif header :contains "from" "python" {
    redirect "python@example.net";
} elsif header :contains "subject" "x" {
    reject "No x, please.";
} elsif size :under 800 {
    discard;
    stop;
}
keep;
