/* Local APIC: acceptance and priority (SDM 3A "Interrupt, Task, and Processor
 * Priority"), EOI, self-IPIs, ESR, and the timer in its three modes. */
#include "nvmx/lapic.h"
#include "harness.h"

#include <check.h>
#include <stdlib.h>

static struct lapic l;

static void setup(void)
{
    lapic_reset(&l, 0);
    ck_assert(lapic_write(&l, LAPIC_SVR, 0, 0, LAPIC_SVR_ENABLE | 0xff));
}

static uint32_t rd(unsigned off, uint64_t now)
{
    uint32_t v = 0xdeadbeef;
    ck_assert_msg(lapic_read(&l, off, now, &v), "read of 0x%x refused", off);
    return v;
}

START_TEST(reset_state)
{
    lapic_reset(&l, 3);
    ck_assert_uint_eq(rd(LAPIC_ID, 0), 3u << 24);
    ck_assert_uint_eq(rd(LAPIC_VERSION, 0) & 0xff, 0x14);
    ck_assert_uint_eq(rd(LAPIC_LVT_TIMER, 0), LAPIC_LVT_MASKED);
    ck_assert_uint_eq(rd(LAPIC_SVR, 0), 0xff);
    ck_assert_int_eq(lapic_pending_vector(&l), -1);
}
END_TEST

/* An interrupt is presented only if its priority class is above PPR's. */
static const struct { uint32_t tpr; int vector; int expect; } accept_cases[] = {
    {0x00, 0x20, 0x20}, {0x20, 0x20, -1}, {0x20, 0x2f, -1},
    {0x20, 0x30, 0x30}, {0xf0, 0xfe, -1}, {0x1f, 0x20, 0x20},
};

START_TEST(acceptance_against_tpr)
{
    lapic_write(&l, LAPIC_TPR, 0, 0, accept_cases[_i].tpr);
    lapic_raise(&l, accept_cases[_i].vector);
    ck_assert_msg(lapic_pending_vector(&l) == accept_cases[_i].expect,
                  "TPR 0x%x vector 0x%x: got %d expected %d", accept_cases[_i].tpr,
                  accept_cases[_i].vector, lapic_pending_vector(&l), accept_cases[_i].expect);
}
END_TEST

START_TEST(isr_blocks_same_class_until_eoi)
{
    lapic_raise(&l, 0x41);
    ck_assert_int_eq(lapic_pending_vector(&l), 0x41);
    lapic_ack(&l, 0x41);
    ck_assert_uint_eq(rd(LAPIC_PPR, 0), 0x40);
    ck_assert_uint_eq(rd(LAPIC_ISR0 + 0x20, 0), 1u << 1);
    lapic_raise(&l, 0x42);
    ck_assert_int_eq(lapic_pending_vector(&l), -1);
    lapic_raise(&l, 0x51);
    ck_assert_int_eq(lapic_pending_vector(&l), 0x51);
    lapic_write(&l, LAPIC_EOI, 0, 0, 0);
    ck_assert_uint_eq(rd(LAPIC_PPR, 0), 0);
    ck_assert_int_eq(lapic_pending_vector(&l), 0x51);
}
END_TEST

START_TEST(self_ipi_fixed_and_nmi)
{
    lapic_write(&l, LAPIC_ICR_LO, 0, 0, (1u << 18) | 0x66); /* self, fixed */
    ck_assert_int_eq(lapic_pending_vector(&l), 0x66);
    lapic_write(&l, LAPIC_ICR_LO, 0, 0, (1u << 18) | (4u << 8)); /* self, NMI */
    ck_assert(l.nmi_pending);
}
END_TEST

START_TEST(illegal_vector_sets_esr)
{
    lapic_write(&l, LAPIC_ICR_LO, 0, 0, (1u << 18) | 0x05);
    ck_assert_uint_eq(rd(LAPIC_ESR, 0), 0); /* not latched until ESR is written */
    lapic_write(&l, LAPIC_ESR, 0, 0, 0);
    ck_assert_uint_eq(rd(LAPIC_ESR, 0), 1u << 5);
    ck_assert_int_eq(lapic_pending_vector(&l), -1);
}
END_TEST

START_TEST(timer_oneshot)
{
    lapic_write(&l, LAPIC_TIMER_DCR, 0, 0, 0xb); /* divide by 1 */
    lapic_write(&l, LAPIC_LVT_TIMER, 0, 0, 0x30);
    lapic_write(&l, LAPIC_TIMER_ICR, 1000, 0, 500);
    ck_assert_uint_eq(lapic_next_event(&l), 1500);
    ck_assert_uint_eq(rd(LAPIC_TIMER_CCR, 1200), 300);
    lapic_update(&l, 1499);
    ck_assert_int_eq(lapic_pending_vector(&l), -1);
    lapic_update(&l, 1500);
    ck_assert_int_eq(lapic_pending_vector(&l), 0x30);
    ck_assert_uint_eq(rd(LAPIC_TIMER_CCR, 1600), 0);
    ck_assert_uint_eq(lapic_next_event(&l), LAPIC_NO_DEADLINE);
}
END_TEST

START_TEST(timer_periodic_with_divider)
{
    lapic_write(&l, LAPIC_TIMER_DCR, 0, 0, 0x1); /* divide by 4 */
    lapic_write(&l, LAPIC_LVT_TIMER, 0, 0, (LAPIC_TIMER_PERIODIC << LAPIC_TIMER_MODE_SHIFT) | 0x31);
    lapic_write(&l, LAPIC_TIMER_ICR, 0, 0, 100); /* period 400 cycles */
    ck_assert_uint_eq(lapic_next_event(&l), 400);
    lapic_update(&l, 410);
    ck_assert_int_eq(lapic_pending_vector(&l), 0x31);
    ck_assert_uint_eq(lapic_next_event(&l), 800);
    ck_assert_uint_eq(rd(LAPIC_TIMER_CCR, 600), 50);
}
END_TEST

START_TEST(timer_masked_counts_but_does_not_interrupt)
{
    lapic_write(&l, LAPIC_TIMER_DCR, 0, 0, 0xb);
    lapic_write(&l, LAPIC_LVT_TIMER, 0, 0, LAPIC_LVT_MASKED | 0x32);
    lapic_write(&l, LAPIC_TIMER_ICR, 0, 0, 10);
    lapic_update(&l, 20);
    ck_assert_int_eq(lapic_pending_vector(&l), -1);
    ck_assert_uint_eq(lapic_next_event(&l), LAPIC_NO_DEADLINE);
}
END_TEST

START_TEST(timer_tsc_deadline)
{
    lapic_write(&l, LAPIC_LVT_TIMER, 0, 0,
                (LAPIC_TIMER_TSC_DEADLINE << LAPIC_TIMER_MODE_SHIFT) | 0x33);
    lapic_write(&l, LAPIC_TIMER_ICR, 0, 0, 5); /* ignored in TSC-deadline mode */
    ck_assert_uint_eq(rd(LAPIC_TIMER_ICR, 0), 0);
    lapic_set_tsc_deadline(&l, 1100, 100, 0); /* TSC = cycles + 100 */
    ck_assert_uint_eq(lapic_next_event(&l), 1000);
    lapic_update(&l, 1000);
    ck_assert_int_eq(lapic_pending_vector(&l), 0x33);
    ck_assert_uint_eq(l.tsc_deadline, 0);
}
END_TEST

START_TEST(x2apic_msr_rules)
{
    uint64_t v;
    ck_assert(!lapic_rdmsr(&l, 0x802, 0, &v)); /* x2APIC not enabled */
    l.x2apic = true;
    ck_assert(lapic_rdmsr(&l, 0x802, 0, &v));
    ck_assert(!lapic_wrmsr(&l, 0x802, 0, 0, 1));   /* ID is read-only */
    ck_assert(!lapic_wrmsr(&l, 0x80b, 0, 0, 1));   /* EOI: non-zero #GP */
    ck_assert(lapic_wrmsr(&l, 0x80b, 0, 0, 0));
    ck_assert(!lapic_rdmsr(&l, 0x80b, 0, &v));     /* EOI is write-only */
    ck_assert(!lapic_rdmsr(&l, 0x80e, 0, &v));     /* no DFR in x2APIC mode */
    ck_assert(!lapic_wrmsr(&l, 0x808, 0, 0, 1ull << 32));
    ck_assert(!lapic_wrmsr(&l, 0x83f, 0, 0, 0x177)); /* SELF IPI bits 31:8 */
    ck_assert(!lapic_wrmsr(&l, 0x830, 0, 0, (1u << 13) | 0x40)); /* ICR reserved bit 13 */
    ck_assert(!lapic_wrmsr(&l, 0x830, 0, 0, (1u << 16) | 0x40)); /* ICR bits 17:16 */
    ck_assert(!lapic_wrmsr(&l, 0x830, 0, 0, (1u << 20) | 0x40)); /* ICR bits 31:20 */
    ck_assert(lapic_wrmsr(&l, 0x83f, 0, 0, 0x77)); /* SELF IPI */
    ck_assert_int_eq(lapic_pending_vector(&l), 0x77);
}
END_TEST

static Suite *lapic_suite(void)
{
    Suite *s = suite_create("lapic");
    TCase *t = tcase_create("acceptance");
    tcase_add_checked_fixture(t, setup, NULL);
    tcase_add_test(t, reset_state);
    tcase_add_loop_test(t, acceptance_against_tpr, 0,
                        (int)(sizeof accept_cases / sizeof accept_cases[0]));
    tcase_add_test(t, isr_blocks_same_class_until_eoi);
    tcase_add_test(t, self_ipi_fixed_and_nmi);
    tcase_add_test(t, illegal_vector_sets_esr);
    tcase_add_test(t, x2apic_msr_rules);
    suite_add_tcase(s, t);
    TCase *tm = tcase_create("timer");
    tcase_add_checked_fixture(tm, setup, NULL);
    tcase_add_test(tm, timer_oneshot);
    tcase_add_test(tm, timer_periodic_with_divider);
    tcase_add_test(tm, timer_masked_counts_but_does_not_interrupt);
    tcase_add_test(tm, timer_tsc_deadline);
    suite_add_tcase(s, tm);
    return s;
}

int main(void)
{
    return th_run_suite(lapic_suite());
}
