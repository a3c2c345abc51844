/* Guest runtime: what runs between boot.S and the image's guest_main():
 * console, IDT/TSS, user pages, then the final verdict. */
#include "console.h"
#include "exc.h"
#include "paging.h"
#include "report.h"

extern uint8_t __user_text_start[], __user_text_end[], __user_data_start[], __user_data_end[];

void rt_start(uint32_t mb_magic, uint32_t mb_info);

/* The .user.text and .user.data pages become user pages (U=1) so that code
 * at CPL 3 can run there; everything else stays supervisor. */
static void user_pages(uint8_t *start, uint8_t *end)
{
    for (uint8_t *p = start; p < end; p += PAGE_SIZE)
        pg_update((uint64_t)p, PTE_U, 0);
}

static void user_pages_init(void)
{
    user_pages(__user_text_start, __user_text_end);
    user_pages(__user_data_start, __user_data_end);
}

void rt_start(uint32_t mb_magic, uint32_t mb_info)
{
    serial_init();
    exc_init();
    user_pages_init();
    guest_main(mb_magic, mb_info);
    guest_finish();
}
