# :matches captures, set with modifiers, string test
require ["fileinto", "variables"];
if header :matches "from" "*@*" {
    set :lower "domain" "${2}";
}
if string :matches "${domain}" "*.org*" {
    fileinto "Org";
    stop;
}
if header :matches "subject" "*[*]*" {
    set :upper "list" "${2}";
    fileinto "List-${list}";
    stop;
}
set :length "len" "${domain}";
if string :is "${len}" "0" { fileinto "NoDomain"; }
