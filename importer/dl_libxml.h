/* libxml2, loaded when a domain is imported: every other verb, a run included, never
 * maps it nor what it links (ICU, liblzma, zlib, libstdc++: about 30 MB of mappings).
 * The prototypes come from libxml2's own headers. */
#pragma once

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "util/dl.h"

/* Loads libxml2.so.2 once. Returns 0 or a negative errno with err naming the package. */
int dl_libxml_open(struct vl_error *err);

VL_DL_PROTOTYPE(xmlNewParserCtxt);
VL_DL_PROTOTYPE(xmlFreeParserCtxt);
VL_DL_PROTOTYPE(xmlCtxtReadMemory);
VL_DL_PROTOTYPE(xmlCtxtGetLastError);
VL_DL_PROTOTYPE(xmlSetGenericErrorFunc);
VL_DL_PROTOTYPE(xmlDocGetRootElement);
VL_DL_PROTOTYPE(xmlFreeDoc);
VL_DL_PROTOTYPE(xmlGetNoNsProp);
VL_DL_PROTOTYPE(xmlNodeGetContent);
/* xmlFree is a variable holding libxml2's free function: this is its address. */
VL_DL_PROTOTYPE(xmlFree);
