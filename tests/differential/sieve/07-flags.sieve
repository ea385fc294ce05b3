# imap4flags: the internal variable, implicit keep with flags
require ["imap4flags", "fileinto"];
setflag "\\Seen";
if header :contains "subject" "e" {
    addflag ["\\Flagged", "$HasE"];
}
if header :contains "subject" "a" {
    removeflag "\\Seen";
}
if hasflag :contains "HasE" {
    fileinto "Flagged";
}
