/* The Wake-on-LAN magic packet parser behind `vmlaunch wake`: six 0xFF, the MAC 16
 * times, optionally a 4- or 6-byte SecureOn password; anything else is refused with a
 * reason. And the MAC text form of [net.ID] mac and --mac. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "launcher/magic_packet.h"

static const uint8_t mac_a[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

/* A well-formed packet for mac with extra bytes of password after it. */
static size_t build(uint8_t *buf, const uint8_t mac[6], size_t extra)
{
        memset(buf, 0xff, 6);
        for (size_t i = 0; i < 16; i++)
                memcpy(buf + 6 + 6 * i, mac, 6);
        for (size_t i = 0; i < extra; i++)
                buf[MAGIC_PACKET_LEN + i] = (uint8_t)(0xa0 + i);
        return MAGIC_PACKET_LEN + extra;
}

static void test_good_packet_gives_its_mac(void **state)
{
        (void)state;
        uint8_t buf[128], mac[6] = {0};
        const char *why = "unset";
        assert_int_equal(magic_packet_parse(buf, build(buf, mac_a, 0), mac, &why), 0);
        assert_memory_equal(mac, mac_a, 6);
        assert_null(why);
}

static void test_secureon_password_tail_is_accepted_and_ignored(void **state)
{
        (void)state;
        uint8_t buf[128], mac[6];
        const char *why;
        assert_int_equal(magic_packet_parse(buf, build(buf, mac_a, 4), mac, &why), 0);
        assert_memory_equal(mac, mac_a, 6);
        assert_int_equal(magic_packet_parse(buf, build(buf, mac_a, 6), mac, &why), 0);
        assert_memory_equal(mac, mac_a, 6);
        /* 5 bytes is no password length */
        assert_int_equal(magic_packet_parse(buf, build(buf, mac_a, 5), mac, &why), -EINVAL);
        assert_non_null(strstr(why, "102 bytes"));
}

static void test_short_packet_is_refused(void **state)
{
        (void)state;
        uint8_t buf[128], mac[6];
        const char *why;
        size_t len = build(buf, mac_a, 0);
        assert_int_equal(magic_packet_parse(buf, len - 1, mac, &why), -EINVAL);
        assert_string_equal(why,
                            "a magic packet is 102 bytes (106 or 108 with a SecureOn password)");
        assert_int_equal(magic_packet_parse(buf, 0, mac, &why), -EINVAL);
        assert_int_equal(magic_packet_parse(buf, 6, mac, &why), -EINVAL);
}

static void test_wrong_sync_stream_is_refused(void **state)
{
        (void)state;
        uint8_t buf[128], mac[6];
        const char *why;
        for (size_t i = 0; i < 6; i++) {
                size_t len = build(buf, mac_a, 0);
                buf[i] = 0xfe;
                assert_int_equal(magic_packet_parse(buf, len, mac, &why), -EINVAL);
                assert_string_equal(why, "it does not start with six 0xFF bytes");
        }
}

static void test_mac_repeated_wrongly_is_refused(void **state)
{
        (void)state;
        uint8_t buf[128], mac[6];
        const char *why;
        /* one byte off in each repetition in turn, the first one included */
        for (size_t rep = 0; rep < 16; rep++) {
                size_t len = build(buf, mac_a, 0);
                buf[6 + 6 * rep + 5] ^= 0x01;
                assert_int_equal(magic_packet_parse(buf, len, mac, &why), -EINVAL);
                assert_string_equal(why, "the MAC is not repeated 16 times");
        }
        /* 15 repetitions and 6 bytes of something else: right length, wrong content */
        size_t len = build(buf, mac_a, 6);
        memset(buf + 6 + 15 * 6, 0x11, 6);
        memcpy(buf + MAGIC_PACKET_LEN, mac_a, 6);
        assert_int_equal(magic_packet_parse(buf, len, mac, &why), -EINVAL);
}

static void test_mac_text_round_trips(void **state)
{
        (void)state;
        uint8_t mac[6];
        char text[18];
        assert_int_equal(mac_parse("52:54:00:12:34:56", mac), 0);
        assert_memory_equal(mac, mac_a, 6);
        assert_int_equal(mac_parse("52-54-00-12-34-56", mac), 0);
        assert_memory_equal(mac, mac_a, 6);
        assert_int_equal(mac_parse("AA:bb:CC:dd:EE:ff", mac), 0);
        mac_format(mac, text);
        assert_string_equal(text, "aa:bb:cc:dd:ee:ff");
        assert_int_equal(mac_parse("52:54:00:12:34:5", mac), -EINVAL);
        assert_int_equal(mac_parse("52:54:00:12:34:567", mac), -EINVAL);
        assert_int_equal(mac_parse("52:54-00:12:34:56", mac), -EINVAL);
        assert_int_equal(mac_parse("52:54:00:12:34:5g", mac), -EINVAL);
        assert_int_equal(mac_parse("", mac), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good_packet_gives_its_mac),
                cmocka_unit_test(test_secureon_password_tail_is_accepted_and_ignored),
                cmocka_unit_test(test_short_packet_is_refused),
                cmocka_unit_test(test_wrong_sync_stream_is_refused),
                cmocka_unit_test(test_mac_repeated_wrongly_is_refused),
                cmocka_unit_test(test_mac_text_round_trips),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
