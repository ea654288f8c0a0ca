/* import: a libvirt domain (what `virsh dumpxml` prints) -> the text of a vmlaunch
 * definition, and a libvirt hook script -> what of it vmlaunch now does itself.
 *
 * Pure: the XML and the scripts come in as memory, the definition goes out as text,
 * and the one fact of the host the mapping needs (which PCI device is the GPU, by its
 * class) is asked through a callback. Nothing is dropped silently: every element the
 * definition cannot express becomes a "# not imported: ELEMENT: why" line in the text
 * and the same line in the warnings. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"
#include "util/strv.h"

/* The largest domain XML read: libvirt's own are a few KiB; a bigger input is not a
 * domain someone wrote, and the limit bounds what the parser allocates. */
#define IMPORTER_XML_MAX_BYTES (4u << 20)
/* The largest hook script read. */
#define IMPORTER_HOOK_MAX_BYTES (1u << 20)

/* The PCI class of the host device ADDR ("0000:06:00.0") as its sysfs class file
 * shows it (0x030000 for a VGA controller): returns 0 with *pci_class set, or -errno
 * when the host has no such device. */
typedef int (*importer_pci_class_fn)(const char *addr, unsigned *pci_class, void *userdata);

struct importer_options {
        const char *name; /* the VM's name; NULL: the domain's <name>, made valid */
        importer_pci_class_fn pci_class;
        void *pci_class_userdata;
};

struct importer_result {
        char *ini;               /* the definition, malloc'd */
        char name[65];           /* the VM's name the definition is for */
        struct vl_strv warnings; /* "not imported: ELEMENT: why", and other notes */
        bool has_gpu;            /* a [gpu] section was written */
};

/* Maps the domain XML (len bytes, need not be NUL-terminated) to a definition.
 * Returns 0 with *res filled (free with importer_result_free), -EBADMSG when the
 * input is not well-formed XML, is not a <domain>, declares a DOCTYPE (entities are
 * never expanded: no DTD, no network, libxml2's size limits) or is larger than
 * IMPORTER_XML_MAX_BYTES, with err saying which and where; -EINVAL for a bad
 * options->name; -ENOMEM. */
int importer_libvirt_domain(const char *xml, size_t len, const struct importer_options *opts,
                            struct importer_result *res, struct vl_error *err);
void importer_result_free(struct importer_result *res);

/* What a libvirt hook script does, line by line, against what vmlaunch does itself. */
struct importer_hook_report {
        struct vl_strv done;   /* "LINE: what: how vmlaunch does it" */
        struct vl_strv remain; /* "LINE: the command", to keep as a vmlaunch hook */
};

/* Classifies each command line of a hook script (text, NUL-terminated). Comments,
 * blank lines and shell syntax alone (then, fi, done, ...) count as neither. Returns 0
 * or -ENOMEM. */
int importer_hook_classify(const char *text, struct importer_hook_report *report);
void importer_hook_report_free(struct importer_hook_report *report);

/* Parses a libvirt cpuset ("0-3,^2,8") into a sorted vmlaunch cpulist ("0-1,3,8").
 * Returns 0, or -EINVAL when it is not one (or names a CPU above 1023). */
int importer_cpuset_to_cpulist(const char *cpuset, char *buf, size_t len);
