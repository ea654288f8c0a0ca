#include "importer/dl_libxml.h"

#include "util/macro.h"

__typeof__(xmlNewParserCtxt) *sym_xmlNewParserCtxt;
__typeof__(xmlFreeParserCtxt) *sym_xmlFreeParserCtxt;
__typeof__(xmlCtxtReadMemory) *sym_xmlCtxtReadMemory;
__typeof__(xmlCtxtGetLastError) *sym_xmlCtxtGetLastError;
__typeof__(xmlSetGenericErrorFunc) *sym_xmlSetGenericErrorFunc;
__typeof__(xmlDocGetRootElement) *sym_xmlDocGetRootElement;
__typeof__(xmlFreeDoc) *sym_xmlFreeDoc;
__typeof__(xmlGetNoNsProp) *sym_xmlGetNoNsProp;
__typeof__(xmlNodeGetContent) *sym_xmlNodeGetContent;
__typeof__(xmlFree) *sym_xmlFree;

int dl_libxml_open(struct vl_error *err)
{
        static void *handle;
        static const struct vl_dl_symbol syms[] = {
                VL_DL_SYMBOL(xmlNewParserCtxt),
                VL_DL_SYMBOL(xmlFreeParserCtxt),
                VL_DL_SYMBOL(xmlCtxtReadMemory),
                VL_DL_SYMBOL(xmlCtxtGetLastError),
                VL_DL_SYMBOL(xmlSetGenericErrorFunc),
                VL_DL_SYMBOL(xmlDocGetRootElement),
                VL_DL_SYMBOL(xmlFreeDoc),
                VL_DL_SYMBOL(xmlGetNoNsProp),
                VL_DL_SYMBOL(xmlNodeGetContent),
                VL_DL_SYMBOL(xmlFree),
        };
        return vl_dl_open(&handle, "libxml2.so.2", "libxml2", syms, ELEMENTSOF(syms), err);
}
