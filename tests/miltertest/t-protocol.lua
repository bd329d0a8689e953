-- t-protocol.lua - segmilter's side of the milter protocol, driven by
-- miltertest(8) against the fixture store (tests/lib/fixture.sh):
-- negotiation, transactional mail accepted at end of headers, a campaign
-- with suppressed recipients removed, the Subject changed, the control
-- header deleted and the body replaced; everyone suppressed discarded;
-- an unknown campaign tempfailed with its reply.
--
-- SEGMILTER, CONF and SOCK come from the environment (t-miltertest.sh).

local sock = os.getenv("SOCK")
mt.startfilter(os.getenv("SEGMILTER"), "-f", "-c", os.getenv("CONF"))

local function check(cond, what)
	if not cond then
		error(what)
	end
end

local function open()
	local conn = mt.connect(sock, 40, 0.25)
	check(conn ~= nil, "mt.connect failed")
	check(mt.negotiate(conn, nil, nil, nil) == nil, "negotiate")
	return conn
end

-- one message up to the end of its headers; HEADERS: { {name, value} }
local function start(conn, qid, rcpts, headers)
	mt.macro(conn, SMFIC_MAIL, "i", qid)
	check(mt.mailfrom(conn, "<news@shop.example>") == nil, "mailfrom")
	for _, r in ipairs(rcpts) do
		check(mt.rcptto(conn, r) == nil, "rcptto " .. r)
	end
	for _, h in ipairs(headers) do
		check(mt.header(conn, h[1], h[2]) == nil, "header " .. h[1])
	end
	check(mt.eoh(conn) == nil, "eoh")
end

-- negotiation: the actions segmilter needs, the steps it skips
local conn = open()
check(mt.test_action(conn, SMFIF_DELRCPT), "DELRCPT not requested")
check(mt.test_action(conn, SMFIF_CHGBODY), "CHGBODY not requested")
check(mt.test_action(conn, SMFIF_CHGHDRS), "CHGHDRS not requested")
check(mt.test_option(conn, SMFIP_NOCONNECT), "connect step not skipped")
check(mt.test_option(conn, SMFIP_NR_HDR), "headers still answered")

-- transactional mail: accepted at the end of headers, never buffered
start(conn, "TX1", { "<nora@example.com>" },
    { { "Subject", "Your receipt" }, { "From", "shop@example.com" } })
check(mt.getreply(conn) == SMFIR_ACCEPT, "transactional mail not accepted at EOH")

-- a campaign: nora (no consent) and ghost (unknown) removed
start(conn, "CMP1", { "<fred@example.com>", "<nora@example.com>",
    "<ghost@example.com>" },
    { { "Subject", "{{headline}} for {{first_name}}" },
      { "X-Campaign-ID", "launch" },
      { "Message-ID", "<p1@shop.example>" } })
check(mt.getreply(conn) == SMFIR_CONTINUE, "campaign not continued at EOH")
check(mt.bodystring(conn, "Hi {{first_name}}: {{offer}}\r\n") == nil, "body")
check(mt.eom(conn) == nil, "eom")
check(mt.getreply(conn) == SMFIR_CONTINUE, "campaign not accepted at EOM")
check(mt.eom_check(conn, MT_RCPTDELETE, "<nora@example.com>"), "nora kept")
check(mt.eom_check(conn, MT_RCPTDELETE, "<ghost@example.com>"), "ghost kept")
check(not mt.eom_check(conn, MT_RCPTDELETE, "<fred@example.com>"), "fred removed")
check(mt.eom_check(conn, MT_HDRDELETE, "X-Campaign-ID"), "control header kept")
check(mt.eom_check(conn, MT_HDRCHANGE, "Subject", "Spring launch for Fred"),
    "Subject not rendered")
check(mt.eom_check(conn, MT_BODYCHANGE, "Hi Fred: 10% off\r\n"), "body not rendered")

-- everyone suppressed: discarded, never bounced to the sender
start(conn, "CMP2", { "<una@example.com>", "<bob@example.com>" },
    { { "Subject", "x" }, { "X-Campaign-ID", "launch" } })
check(mt.bodystring(conn, "{{offer}}\r\n") == nil, "body")
check(mt.eom(conn) == nil, "eom")
check(mt.getreply(conn) == SMFIR_DISCARD, "nobody left: not discarded")

-- a campaign nobody configured: tempfail with the reason
start(conn, "CMP3", { "<fred@example.com>" },
    { { "Subject", "x" }, { "X-Campaign-ID", "nope" } })
check(mt.bodystring(conn, "x\r\n") == nil, "body")
check(mt.eom(conn) == nil, "eom")
check(mt.getreply(conn) == SMFIR_REPLYCODE, "unknown campaign: no reply code")
check(mt.eom_check(conn, MT_SMTPREPLY, "451", "4.7.1",
    "segmilter: unknown campaign 'nope'"), "unknown campaign: wrong reply")

mt.disconnect(conn)
