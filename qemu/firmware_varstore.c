/* The layout is edk2's: an EFI_FIRMWARE_VOLUME_HEADER ("_FVH" at byte 40, its length
 * at byte 48), then a VARIABLE_STORE_HEADER (GUID, size, format, state: 28 bytes),
 * then AUTHENTICATED_VARIABLE_HEADERs, each followed by the UTF-16 name and the data
 * and aligned to 4 bytes (MdeModulePkg/Include/Guid/VariableFormat.h). Replaced
 * values stay in the store with their state bits cleared, so only live ones count. */
#include "qemu/firmware_varstore.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define FV_SIGNATURE_OFFSET            40
#define FV_HEADER_LEN_OFFSET           48
#define STORE_HEADER_LEN               28
#define VAR_START_ID                   0x55aa
#define VAR_HEADER_LEN                 60 /* the authenticated header */
#define VAR_ADDED                      0x3f
#define VAR_IN_DELETED_TRANSITION_MASK 0xfe

/* gEfiAuthenticatedVariableGuid aaf32c78-947b-439a-a180-2e144ec37792, as stored. */
static const unsigned char auth_store_guid[16] = {0x78, 0x2c, 0xf3, 0xaa, 0x7b, 0x94, 0x9a, 0x43,
                                                  0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92};
/* EFI_GLOBAL_VARIABLE 8be4df61-93ca-11d2-aa0d-00e098032b8c, as stored. */
static const unsigned char global_guid[16] = {0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
                                              0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c};
/* L"PK" with its terminating NUL. */
static const unsigned char pk_name[6] = {'P', 0, 'K', 0, 0, 0};

static uint32_t le32(const unsigned char *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool is_live(unsigned char state)
{
        /* A value being replaced (in deleted transition) is still the live one until
         * its successor is complete. */
        return state == VAR_ADDED || state == (VAR_ADDED & VAR_IN_DELETED_TRANSITION_MASK);
}

int firmware_varstore_has_pk(const unsigned char *buf, size_t len)
{
        if (len < FV_HEADER_LEN_OFFSET + 2 || memcmp(buf + FV_SIGNATURE_OFFSET, "_FVH", 4) != 0)
                return -EINVAL;
        size_t off = (size_t)buf[FV_HEADER_LEN_OFFSET] | (size_t)buf[FV_HEADER_LEN_OFFSET + 1] << 8;
        if (off + STORE_HEADER_LEN > len || memcmp(buf + off, auth_store_guid, 16) != 0)
                return -EINVAL;
        off += STORE_HEADER_LEN;
        while (off + VAR_HEADER_LEN <= len && (buf[off] | buf[off + 1] << 8) == VAR_START_ID) {
                const unsigned char *h = buf + off;
                size_t name_size = le32(h + 36), data_size = le32(h + 40);
                if (name_size > len || data_size > len ||
                    off + VAR_HEADER_LEN + name_size + data_size > len)
                        return -EINVAL;
                if (is_live(h[2]) && name_size == sizeof(pk_name) &&
                    memcmp(h + 44, global_guid, 16) == 0 &&
                    memcmp(h + VAR_HEADER_LEN, pk_name, sizeof(pk_name)) == 0 && data_size > 0)
                        return 1;
                off = (off + VAR_HEADER_LEN + name_size + data_size + 3) & ~(size_t)3;
        }
        return 0;
}
