/* SPDX-License-Identifier: MIT */
/* --dev PATH: make the device appear at a path clients already open (e.g. /dev/kvm). */
#ifndef CUSED_FRONTEND_BINDMOUNT_H
#define CUSED_FRONTEND_BINDMOUNT_H

int bind_device(const char *dev, const char *path);
void unbind_device(const char *path);

#endif
