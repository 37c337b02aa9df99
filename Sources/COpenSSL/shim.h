#ifndef EDGEUP_COPENSSL_SHIM_H
#define EDGEUP_COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/sha.h>
#endif
