/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * The control-message parser, shmlink_ctl_decode(), over any message a peer can send
 * (doc/guides/prog/control_protocol.rst).
 *
 * Input: the message, copied into a heap block of exactly its length.
 * Checked: a message that decodes obeys every rule of the protocol (magic, version,
 * header length, type, role, queue pairs, flags, reason text printable and within its
 * limit, taken from inside the message); a refused one says why; and what decoded
 * encodes into a message that decodes to the same fields.
 */

#include "fuzz_common.h"
#include "shmlink_ctl.h"

static void
check_accepted(const uint8_t *buf, uint32_t len, const struct shmlink_ctl_msg *m)
{
	uint32_t hdr_len, text_len, i;

	FZ_CHECK(len >= SHMLINK_CTL_HDR_LEN && fz_le(buf, 4) == SHMLINK_CTL_MAGIC &&
			fz_le(buf + 4, 2) == SHMLINK_CTL_VERSION, "bad header accepted");
	hdr_len = (uint32_t)fz_le(buf + 6, 2);
	FZ_CHECK(hdr_len >= SHMLINK_CTL_HDR_LEN && hdr_len <= len, "header length %u of %u",
			hdr_len, len);
	FZ_CHECK(m->type >= SHMLINK_CTL_OFFER && m->type <= SHMLINK_CTL_REJECT, "type %u",
			m->type);
	FZ_CHECK(m->type == buf[8] && m->role == buf[9] && m->role <= 1, "role %u", m->role);
	FZ_CHECK(m->nb_qp == fz_le(buf + 10, 2) && m->qp == fz_le(buf + 12, 2) &&
			m->flags == fz_le(buf + 14, 2) && m->mtu == fz_le(buf + 16, 4) &&
			m->buffer_size == fz_le(buf + 20, 4) &&
			memcmp(m->mac, buf + 24, 6) == 0 && m->reason == fz_le(buf + 32, 4),
			"fields differ from the message");
	if (m->type == SHMLINK_CTL_OFFER)
		FZ_CHECK(m->nb_qp >= 1 && m->nb_qp <= SHMLINK_CTL_MAX_QUEUE_PAIRS &&
				m->qp < m->nb_qp, "offer for qp %u of %u", m->qp, m->nb_qp);
	FZ_CHECK((m->flags & ~SHMLINK_CTL_F_KNOWN) == 0, "flags 0x%x", m->flags);
	text_len = m->type == SHMLINK_CTL_REJECT ? (uint32_t)fz_le(buf + 36, 4) : 0;
	FZ_CHECK(text_len <= SHMLINK_CTL_TEXT_MAX && text_len <= len - hdr_len,
			"text of %u bytes", text_len);
	FZ_CHECK(strlen(m->text) == text_len, "text is %zu bytes, message says %u",
			strlen(m->text), text_len);
	for (i = 0; i < text_len; i++) {
		uint8_t c = buf[hdr_len + i];

		FZ_CHECK(m->text[i] == ((c >= 0x20 && c < 0x7f) ? (char)c : '?'),
				"text byte %u", i);
	}
}

static void
check_roundtrip(const struct shmlink_ctl_msg *m)
{
	uint8_t out[SHMLINK_CTL_MSG_MAX];
	struct shmlink_ctl_msg m2;
	const char *why = NULL;
	uint32_t len = shmlink_ctl_encode(m, out);
	uint8_t *exact = malloc(len);
	int rc;

	FZ_CHECK(exact != NULL, "out of memory");
	FZ_CHECK(len >= SHMLINK_CTL_HDR_LEN && len <= SHMLINK_CTL_MSG_MAX, "encoded %u", len);
	memcpy(exact, out, len);
	rc = shmlink_ctl_decode(exact, len, &m2, &why);
	FZ_CHECK(rc == 0, "re-encoded message refused: %s", why != NULL ? why : "?");
	FZ_CHECK(m2.type == m->type && m2.role == m->role && m2.nb_qp == m->nb_qp &&
			m2.qp == m->qp && m2.flags == m->flags && m2.mtu == m->mtu &&
			m2.buffer_size == m->buffer_size && memcmp(m2.mac, m->mac, 6) == 0 &&
			m2.reason == m->reason && strcmp(m2.text, m->text) == 0,
			"re-encoded message decodes differently");
	free(exact);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* shmlink_ctl_recv() passes at most SHMLINK_CTL_MSG_MAX bytes; the parser must
	 * cope with any length all the same. */
	uint32_t len = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
	uint8_t *buf = malloc(len > 0 ? len : 1);
	struct shmlink_ctl_msg m;
	const char *why = (const char *)1;
	int rc;

	FZ_CHECK(buf != NULL, "out of memory");
	memcpy(buf, data, len);
	rc = shmlink_ctl_decode(buf, len, &m, &why);
	if (rc == 0) {
		FZ_CHECK(why == NULL, "accepted with a reason: %s", why);
		check_accepted(buf, len, &m);
		check_roundtrip(&m);
	} else {
		FZ_CHECK(rc == -EPROTO && why != NULL && why[0] != '\0',
				"refused with %d and no reason", rc);
	}
	(void)shmlink_ctl_reason_name(m.reason);
	free(buf);
	return 0;
}
