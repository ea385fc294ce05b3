# size and exists, allof/anyof/not
require ["fileinto"];
if size :over 20K {
    fileinto "Large";
} elsif allof (exists "message-id", not exists "in-reply-to", size :under 2K) {
    fileinto "SmallNew";
} elsif anyof (exists "x-spam-flag", exists "list-id", exists "mailing-list") {
    fileinto "Lists";
} elsif not exists "date" {
    discard;
}
