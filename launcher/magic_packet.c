#include "launcher/magic_packet.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int magic_packet_parse(const uint8_t *buf, size_t len, uint8_t mac[6], const char **why)
{
        static const char *const bad_length =
                "a magic packet is 102 bytes (106 or 108 with a SecureOn password)";
        *why = NULL;
        if (len != MAGIC_PACKET_LEN && len != MAGIC_PACKET_LEN + 4 && len != MAGIC_PACKET_LEN + 6) {
                *why = bad_length;
                return -EINVAL;
        }
        for (size_t i = 0; i < 6; i++) {
                if (buf[i] != 0xff) {
                        *why = "it does not start with six 0xFF bytes";
                        return -EINVAL;
                }
        }
        const uint8_t *first = buf + 6;
        for (size_t rep = 1; rep < 16; rep++) {
                if (memcmp(first, first + 6 * rep, 6) != 0) {
                        *why = "the MAC is not repeated 16 times";
                        return -EINVAL;
                }
        }
        memcpy(mac, first, 6);
        return 0;
}

static int hex_digit(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int mac_parse(const char *text, uint8_t mac[6])
{
        if (!text || strlen(text) != 17)
                return -EINVAL;
        char sep = text[2];
        if (sep != ':' && sep != '-')
                return -EINVAL;
        for (size_t i = 0; i < 6; i++) {
                const char *p = text + 3 * i;
                int hi = hex_digit(p[0]), lo = hex_digit(p[1]);
                if (hi < 0 || lo < 0 || (i < 5 && p[2] != sep))
                        return -EINVAL;
                mac[i] = (uint8_t)(hi << 4 | lo);
        }
        return 0;
}

void mac_format(const uint8_t mac[6], char buf[static 18])
{
        snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
                 mac[5]);
}
