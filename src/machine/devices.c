/* The optional devices, by the names QEMU gives them (`--device NAME`). */
#include "machine_private.h"

#include <string.h>

const char *const machine_device_names[] = { "pc-testdev", "pci-testdev", NULL };

bool machine_add_device(struct machine *m, const char *name, char *err, size_t errlen)
{
    static bool (*const attach[])(struct machine *) = { pc_testdev_attach, pci_testdev_attach };
    for (unsigned i = 0; machine_device_names[i]; i++) {
        if (strcmp(name, machine_device_names[i]) != 0)
            continue;
        if (!attach[i](m))
            return machine_errorf(err, errlen, "--device %s: given twice, or no room for it",
                                  name);
        return true;
    }
    return machine_errorf(err, errlen, "--device %s: unknown device (known: pc-testdev, "
                                       "pci-testdev)", name);
}
