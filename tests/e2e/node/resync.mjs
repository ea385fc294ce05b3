// A real QRESYNC client for tests/e2e/test_imap_imapflow.py: imapflow with
// CONDSTORE and QRESYNC on. "init" opens INBOX, reads every message's flags
// and saves the state (UIDVALIDITY, HIGHESTMODSEQ, uid -> flags) to a file;
// "resync" reopens INBOX with SELECT (QRESYNC (uidvalidity modseq)) and
// updates the saved state from the responses to that SELECT alone (VANISHED
// (EARLIER) and FETCH events), issuing no other command, then saves it.
// Usage: node resync.mjs init|resync STATEFILE (env LOFT_PORT, LOFT_USER,
// LOFT_PASS, LOFT_CA: the server's certificate for STARTTLS).
import { readFileSync, writeFileSync } from 'node:fs';
import { ImapFlow } from 'imapflow';

const [mode, stateFile] = process.argv.slice(2);
const client = new ImapFlow({
    host: '127.0.0.1',
    port: Number(process.env.LOFT_PORT),
    secure: false,
    auth: { user: process.env.LOFT_USER, pass: process.env.LOFT_PASS },
    tls: { ca: [readFileSync(process.env.LOFT_CA)], servername: 'localhost' },
    qresync: true,
    logger: false
});

const flagList = set => [...set].filter(f => f !== '\\Recent').sort();

await client.connect();
if (!client.enabled.has('QRESYNC') || !client.enabled.has('CONDSTORE')) {
    throw new Error('QRESYNC/CONDSTORE not enabled: ' + [...client.enabled].join(' '));
}
let out;
if (mode === 'init') {
    const box = await client.mailboxOpen('INBOX');
    const messages = {};
    if (box.exists > 0) {
        for await (const msg of client.fetch('1:*', { uid: true, flags: true })) {
            messages[msg.uid] = flagList(msg.flags);
        }
    }
    out = { uidValidity: box.uidValidity.toString(), highestModseq: box.highestModseq.toString(),
            messages, events: 0 };
} else {
    const state = JSON.parse(readFileSync(stateFile, 'utf8'));
    let events = 0, vanished = [];
    client.on('expunge', ev => {
        events++;
        if (ev.vanished && ev.uid) {
            vanished.push(ev.uid);
            delete state.messages[ev.uid];
        }
    });
    client.on('flags', ev => {
        events++;
        if (ev.uid) {
            state.messages[ev.uid] = flagList(ev.flags);
        }
    });
    const box = await client.mailboxOpen('INBOX', {
        uidValidity: BigInt(state.uidValidity), changedSince: BigInt(state.highestModseq)
    });
    if (!box.qresync) {
        throw new Error('the server did not resync (UIDVALIDITY or HIGHESTMODSEQ missing)');
    }
    out = { uidValidity: box.uidValidity.toString(), highestModseq: box.highestModseq.toString(),
            messages: state.messages, events, vanished, exists: box.exists };
}
writeFileSync(stateFile, JSON.stringify(out));
await client.logout();
