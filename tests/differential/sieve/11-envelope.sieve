# envelope (RFC 5228 5.4)
require ["fileinto", "envelope", "subaddress"];
if envelope :domain :is "from" "example.org" {
    if envelope :localpart :is "to" "user" {
        fileinto "FromExample";
    }
}
if envelope :detail "to" "" { fileinto "NoDetail"; }
