# date (RFC 5260) in the message's own zone, and :index
require ["fileinto", "date", "relational", "index"];
if date :originalzone :value "lt" "date" "year" "2000" {
    fileinto "Old";
} elsif date :originalzone :is "date" "weekday" ["0", "6"] {
    fileinto "Weekend";
} elsif date :zone "+0000" :value "ge" "date" "hour" "12" {
    fileinto "Afternoon";
} elsif header :index 1 :last :contains "received" "localhost" {
    fileinto "LastHopLocal";
}
