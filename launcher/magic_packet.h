/* Wake-on-LAN magic packets (AMD's "Magic Packet Technology" white paper, 1995): six
 * 0xFF bytes, then the target's 6-byte MAC 16 times, optionally followed by a 4- or
 * 6-byte SecureOn password (accepted and ignored: vmlaunch's own checks decide what may
 * start). Pure: no I/O. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define MAGIC_PACKET_LEN 102 /* 6 + 16 * 6 */

/* Parses a UDP payload that is exactly a magic packet, with or without a password.
 * Returns 0 with mac set, or -EINVAL with *why saying what is wrong ("102 bytes
 * expected (or 106/108 with a password), got 12", ...). */
int magic_packet_parse(const uint8_t *buf, size_t len, uint8_t mac[6], const char **why);

/* Parses "52:54:00:12:34:56" (or with '-', any case). Returns 0 or -EINVAL. */
int mac_parse(const char *text, uint8_t mac[6]);
/* "52:54:00:12:34:56", lower case. */
void mac_format(const uint8_t mac[6], char buf[static 18]);
