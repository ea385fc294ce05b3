# body (RFC 5173): :text, :raw, :content
require ["fileinto", "body"];
if body :text :contains "unsubscribe" {
    fileinto "Unsub";
} elsif body :raw :contains "Content-Transfer-Encoding: base64" {
    fileinto "Base64";
} elsif body :content "text/html" :contains "<html" {
    fileinto "Html";
} elsif body :content "image" :contains "" {
    fileinto "Images";
} elsif body :text :matches "*hello*" {
    fileinto "Hello";
}
