/* Parsing whole definitions: the guide's win10 setup, defaults, INI syntax details,
 * and the loader's file checks. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmdefs/vmdef.h"

static char *read_fixture(const char *rel, size_t *len)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s/tests/fixtures/defs/%s", getenv("SOURCE_ROOT"), rel);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        static char buf[65536];
        *len = fread(buf, 1, sizeof(buf) - 1, f);
        buf[*len] = '\0';
        fclose(f);
        return buf;
}

/* Parses text; asserts success and no diagnostics at all. */
static struct vm_def *parse_ok(const char *path, const char *text)
{
        struct vmdef_diags diags = {0};
        struct vm_def *def = NULL;
        int r = vmdef_parse_string(path, text, strlen(text), &def, &diags);
        for (size_t i = 0; i < diags.count; i++) {
                char line[1024];
                vmdef_diag_format(&diags.items[i], path, line, sizeof(line));
                print_message("%s\n", line);
        }
        assert_int_equal(r, 0);
        assert_int_equal(diags.count, 0);
        assert_non_null(def);
        vmdef_diags_free(&diags);
        return def;
}

/* Parses text; asserts failure and that the first diagnostic reads `expected`. */
static void parse_fails(const char *text, const char *expected)
{
        struct vmdef_diags diags = {0};
        struct vm_def *def = NULL;
        assert_int_equal(vmdef_parse_string("t.ini", text, strlen(text), &def, &diags), -EINVAL);
        assert_null(def);
        assert_true(diags.count >= 1);
        char line[1024];
        vmdef_diag_format(&diags.items[0], "t.ini", line, sizeof(line));
        assert_string_equal(line, expected);
        vmdef_diags_free(&diags);
}

static void assert_cpus(const struct vmdef_cpulist *l, size_t n, const unsigned *cpus)
{
        assert_int_equal(l->count, n);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(l->cpus[i], cpus[i]);
}

static void assert_pci(const struct vmdef_pci_addr *a, unsigned bus, unsigned slot, unsigned fn)
{
        assert_int_equal(a->domain, 0);
        assert_int_equal(a->bus, bus);
        assert_int_equal(a->slot, slot);
        assert_int_equal(a->function, fn);
}

static void test_guide_win10_definition_parses_into_the_expected_struct(void **state)
{
        (void)state;
        size_t len;
        const char *text = read_fixture("win10.ini", &len);
        struct vm_def *def = parse_ok("/etc/vmlaunch/win10.ini", text);

        assert_string_equal(def->name, "win10");
        assert_string_equal(def->path, "/etc/vmlaunch/win10.ini");
        assert_int_equal(def->memory_bytes, 12ull << 30);
        assert_int_equal(def->hugepage_bytes, 2ull << 20);
        assert_true(def->prealloc); /* default with hugepages */
        assert_true(def->allocate_hugepages);
        assert_string_equal(def->machine, "q35");
        assert_int_equal(def->firmware, VMDEF_FIRMWARE_UEFI);
        assert_string_equal(def->ovmf_code, "/usr/share/OVMF/OVMF_CODE_4M.fd");
        assert_string_equal(def->ovmf_vars_template, "/usr/share/OVMF/OVMF_VARS_4M.fd");
        assert_false(def->secure_boot);
        assert_string_equal(def->ovmf_vars, "/var/lib/vmlaunch/win10/OVMF_VARS.fd");

        assert_string_equal(def->cpu_model, "host");
        assert_int_equal(def->sockets, 1);
        assert_int_equal(def->dies, 1);
        assert_int_equal(def->cores, 4);
        assert_int_equal(def->threads, 2);
        assert_int_equal(vmdef_vcpu_count(def), 8);
        assert_true(def->topoext);
        assert_true(def->cache_passthrough);
        assert_true(def->kvm_hidden);
        assert_false(def->vcpu_pin_auto);
        assert_cpus(&def->vcpu_pin, 8, (unsigned[]){0, 1, 2, 3, 4, 5, 6, 7});
        assert_cpus(&def->emulator_pin, 2, (unsigned[]){0, 3});

        assert_int_equal(def->n_iothreads, 4);
        const char *ids[] = {"io1", "io2", "io3", "io4"};
        for (unsigned i = 0; i < 4; i++) {
                assert_string_equal(def->iothreads[i].id, ids[i]);
                assert_cpus(&def->iothreads[i].pin, 2, (unsigned[]){2 * i, 2 * i + 1});
        }

        const struct vmdef_hyperv *hv = &def->hyperv;
        assert_true(hv->enabled);
        assert_true(hv->relaxed && hv->vapic && hv->vpindex && hv->synic && hv->stimer);
        assert_true(hv->reset && hv->frequencies && hv->time);
        assert_int_equal(hv->spinlocks, 8191);
        assert_string_equal(hv->vendor_id, "whatever");
        assert_false(hv->evmcs);

        assert_int_equal(def->n_disks, 1);
        const struct vmdef_disk *d = &def->disks[0];
        assert_string_equal(d->id, "system");
        assert_string_equal(d->path, "/var/lib/libvirt/images/win10.qcow2");
        assert_int_equal(d->format, VMDEF_FORMAT_QCOW2);
        assert_int_equal(d->bus, VMDEF_BUS_VIRTIO_BLK);
        assert_int_equal(d->media, VMDEF_MEDIA_DISK);
        assert_string_equal(d->iothread, "io1");
        assert_int_equal(d->boot, 1);
        assert_int_equal(d->cache, VMDEF_CACHE_NONE);
        assert_int_equal(d->aio, VMDEF_AIO_NATIVE);
        assert_int_equal(d->discard, VMDEF_DISCARD_UNMAP);
        assert_false(d->readonly);
        assert_null(d->serial);

        assert_true(def->has_gpu);
        assert_pci(&def->gpu_address, 6, 0, 0);
        assert_int_equal(def->n_gpu_group, 4);
        for (unsigned i = 0; i < 4; i++)
                assert_pci(&def->gpu_group[i], 6, 0, i);

        /* [host] defaults for a GPU VM */
        assert_int_equal(def->n_stop_units, 1);
        assert_string_equal(def->stop_units[0], "display-manager.service");
        assert_null(def->stop_units[1]);
        assert_int_equal(def->vtconsoles, VMDEF_AUTO);
        assert_int_equal(def->framebuffer, VMDEF_AUTO);
        assert_int_equal(def->modules_mode, VMDEF_MODULES_AUTO);
        assert_string_equal(def->governor, "performance");
        vmdef_free(def);
}

static void test_minimal_definition_gets_documented_defaults(void **state)
{
        (void)state;
        struct vm_def *def = parse_ok("/etc/vmlaunch/tiny.ini", "[vm]\n");
        assert_string_equal(def->name, "tiny");
        assert_string_equal(def->qemu_binary, "qemu-system-x86_64");
        assert_string_equal(def->machine, "q35");
        assert_int_equal(def->accel, VMDEF_ACCEL_AUTO);
        assert_string_equal(def->display, "none");
        assert_string_equal(def->vga, "none");
        assert_int_equal(def->shutdown_timeout_s, 120);
        assert_int_equal(def->hooks_timeout_s, 120);
        assert_int_equal(def->memory_bytes, 4ull << 30);
        assert_int_equal(def->hugepage_bytes, 0);
        assert_false(def->prealloc);
        assert_string_equal(def->ovmf_vars, "/var/lib/vmlaunch/tiny/OVMF_VARS.fd");
        /* Left to QEMU's firmware descriptors on the host (run/firmware_choice.c). */
        assert_null(def->ovmf_code);
        assert_null(def->ovmf_vars_template);
        assert_false(def->secure_boot);
        assert_string_equal(def->cpu_model, "host");
        assert_int_equal(vmdef_vcpu_count(def), 2);
        assert_int_equal(def->cores, 2);
        assert_int_equal(def->threads, 1);
        assert_true(def->cache_passthrough); /* model = host */
        assert_false(def->topoext);
        assert_int_equal(def->vcpu_pin.count, 0);
        assert_true(def->hyperv.enabled && def->hyperv.relaxed && def->hyperv.stimer);
        assert_int_equal(def->hyperv.spinlocks, 8191);
        assert_null(def->hyperv.vendor_id);
        assert_false(def->has_gpu);
        assert_int_equal(def->n_stop_units, 0); /* no GPU: nothing to stop */
        assert_null(def->hooks_dir);
        vmdef_free(def);
}

static void test_platform_keys_parse_and_default_to_auto_and_none(void **state)
{
        (void)state;
        struct vm_def *def = parse_ok("/etc/vmlaunch/p.ini", "[memory]\nsize = 1G\n");
        assert_int_equal(def->pit_policy, VMDEF_PIT_AUTO);
        assert_int_equal(def->suspend_to_ram, VMDEF_SLEEP_AUTO);
        assert_int_equal(def->suspend_to_disk, VMDEF_SLEEP_AUTO);
        assert_int_equal(def->smbios_mode, VMDEF_SMBIOS_NONE);
        vmdef_free(def);

        def = parse_ok("/etc/vmlaunch/p.ini",
                       "[qemu]\npit_lost_tick_policy = discard\nsuspend_to_ram = yes\n"
                       "suspend_to_disk = no\n[smbios]\nmode = host\n");
        assert_int_equal(def->pit_policy, VMDEF_PIT_DISCARD);
        assert_int_equal(def->suspend_to_ram, VMDEF_SLEEP_ON);
        assert_int_equal(def->suspend_to_disk, VMDEF_SLEEP_OFF);
        assert_int_equal(def->smbios_mode, VMDEF_SMBIOS_HOST);
        vmdef_free(def);

        def = parse_ok("/etc/vmlaunch/p.ini", "[qemu]\nsuspend_to_ram = auto\n");
        assert_int_equal(def->suspend_to_ram, VMDEF_SLEEP_AUTO);
        vmdef_free(def);
}

static void test_continuation_lines_extend_the_previous_value(void **state)
{
        (void)state;
        struct vm_def *def = parse_ok("x.ini", "[cpu]\ncores = 4\nvcpu_pin = 0-1,\n"
                                               "   2,\n\t3\n  ; an indented comment\n"
                                               "[qemu]\nargs = -device 'usb-tablet'\n"
                                               "  -global \"kvm-pit.lost_tick_policy=discard\"\n");
        assert_cpus(&def->vcpu_pin, 4, (unsigned[]){0, 1, 2, 3});
        assert_int_equal(def->n_extra_args, 4);
        assert_string_equal(def->extra_args[0], "-device");
        assert_string_equal(def->extra_args[1], "usb-tablet");
        assert_string_equal(def->extra_args[2], "-global");
        assert_string_equal(def->extra_args[3], "kvm-pit.lost_tick_policy=discard");
        assert_null(def->extra_args[4]);
        vmdef_free(def);
}

static void test_comments_bom_crlf_and_colon_separator_are_accepted(void **state)
{
        (void)state;
        struct vm_def *def = parse_ok("x.ini", "\xef\xbb\xbf# comment\r\n[memory]\r\n"
                                               "size: 8G ; inline comment\r\n"
                                               "[hyperv]\nenabled = no\n");
        assert_int_equal(def->memory_bytes, 8ull << 30);
        assert_false(def->hyperv.enabled);
        assert_false(def->hyperv.relaxed); /* everything off with enabled = no */
        assert_int_equal(def->hyperv.spinlocks, 0);
        vmdef_free(def);
}

static void test_disk_defaults_follow_path_and_media(void **state)
{
        (void)state;
        struct vm_def *def = parse_ok("x.ini", "[disk.a]\npath = /img/a.raw\ncache = writeback\n"
                                               "[disk.cd]\npath = /iso/win.iso\nmedia = cdrom\n"
                                               "bus = sata\n");
        assert_int_equal(def->n_disks, 2);
        assert_int_equal(def->disks[0].format, VMDEF_FORMAT_RAW);
        assert_int_equal(def->disks[0].aio, VMDEF_AIO_THREADS); /* writeback: no O_DIRECT */
        assert_true(def->disks[1].readonly);
        assert_int_equal(def->disks[1].bus, VMDEF_BUS_SATA);
        vmdef_free(def);
}

static void test_all_errors_are_collected_not_just_the_first(void **state)
{
        (void)state;
        struct vmdef_diags diags = {0};
        struct vm_def *def = NULL;
        const char *text = "[memory]\nsize = 12X\nsize = 3G\n[cpu]\ncorse = 2\n[bogus]\n";
        assert_int_equal(vmdef_parse_string("t.ini", text, strlen(text), &def, &diags), -EINVAL);
        assert_int_equal(diags.n_errors, 4);
        vmdef_diags_free(&diags);
}

static void test_warnings_are_marked_and_do_not_fail(void **state)
{
        (void)state;
        struct vmdef_diags diags = {0};
        struct vm_def *def = NULL;
        const char *text = "[hyperv]\nenabled = no\nrelaxed = yes\n";
        assert_int_equal(vmdef_parse_string("t.ini", text, strlen(text), &def, &diags), 0);
        assert_non_null(def);
        assert_int_equal(diags.count, 1);
        assert_int_equal(diags.n_errors, 0);
        char line[512];
        vmdef_diag_format(&diags.items[0], "t.ini", line, sizeof(line));
        assert_string_equal(
                line,
                "t.ini:3: warning: [hyperv] relaxed: ignored because enabled = no; remove it or set enabled = yes");
        vmdef_diags_free(&diags);
        vmdef_free(def);
}

static void test_session_keys_parse_into_the_definition(void **state)
{
        (void)state;
        struct vmdef_diags diags = {0};
        struct vm_def *def = NULL;
        const char *text =
                "[guest]\nagent = yes\n[session]\nready = tcp:[fd00::5]:47989\n"
                "ready_timeout = 90\nwake_on_lan = yes\n[net.lan]\nmac = 52:54:00:aa:bb:cc\n";
        assert_int_equal(vmdef_parse_string("t.ini", text, strlen(text), &def, &diags), 0);
        assert_true(def->guest_agent);
        assert_int_equal(def->ready, VMDEF_READY_TCP);
        assert_string_equal(def->ready_host, "fd00::5");
        assert_int_equal(def->ready_port, 47989);
        assert_int_equal(def->ready_timeout_s, 90);
        assert_true(def->wake_on_lan);
        vmdef_free(def);
        def = NULL;
        /* tcp:PORT: the address comes from the agent */
        text = "[guest]\nagent = yes\n[session]\nready = tcp:47989\n";
        assert_int_equal(vmdef_parse_string("t.ini", text, strlen(text), &def, &diags), 0);
        assert_null(def->ready_host);
        assert_int_equal(def->ready_port, 47989);
        assert_int_equal(diags.count, 0);
        vmdef_free(def);
}

static void test_ready_timeout_without_a_readiness_to_wait_for_warns(void **state)
{
        (void)state;
        struct vmdef_diags diags = {0};
        struct vm_def *def = NULL;
        const char *text = "[session]\nready_timeout = 60\n";
        assert_int_equal(vmdef_parse_string("t.ini", text, strlen(text), &def, &diags), 0);
        assert_int_equal(def->ready, VMDEF_READY_RUNNING);
        assert_int_equal(diags.count, 1);
        char line[512];
        vmdef_diag_format(&diags.items[0], "t.ini", line, sizeof(line));
        assert_string_equal(
                line,
                "t.ini:2: warning: [session] ready_timeout: ignored because ready = running; set ready = agent or tcp:... to use it");
        vmdef_diags_free(&diags);
        vmdef_free(def);
}

static void test_indented_key_after_a_key_is_a_continuation_not_a_key(void **state)
{
        (void)state;
        parse_fails(
                "[cpu]\ncores = 4\n  threads = 2\n",
                "t.ini:2: [cpu] cores: \"4 threads = 2\": expected a whole number from 1 to 255");
}

static void test_long_section_name_is_rejected_not_truncated(void **state)
{
        (void)state;
        parse_fails(
                "[disk.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\npath = /x\n",
                "t.ini:1: section name longer than 49 bytes; expected a known section such as [disk.ID] with a short ID");
}

/* ---- vmdef_load: the file itself ---- */

static char tmpdir[64];

static int make_tmpdir(void **state)
{
        (void)state;
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/vmdefs-test-XXXXXX");
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
        (void)state;
        char path[128];
        snprintf(path, sizeof(path), "%s/vm.ini", tmpdir);
        unlink(path);
        return rmdir(tmpdir);
}

static char *write_def(const char *text, mode_t mode, uid_t uid)
{
        static char path[128];
        snprintf(path, sizeof(path), "%s/vm.ini", tmpdir);
        unlink(path);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        assert_int_equal(fchmod(fd, mode), 0);
        if (uid != getuid())
                assert_int_equal(fchown(fd, uid, (gid_t)-1), 0);
        close(fd);
        return path;
}

static void load_fails(const char *path, const struct vmdef_load_opts *opts, int expected_r,
                       const char *expected)
{
        struct vmdef_diags diags = {0};
        struct vm_def *def = NULL;
        assert_int_equal(vmdef_load(path, opts, &def, &diags), expected_r);
        assert_null(def);
        assert_int_equal(diags.count, 1);
        char line[1024];
        vmdef_diag_format(&diags.items[0], path, line, sizeof(line));
        assert_string_equal(line, expected);
        vmdef_diags_free(&diags);
}

static void test_load_refuses_a_file_not_owned_by_root_even_when_asked_as_root(void **state)
{
        (void)state;
        if (geteuid() != 0)
                skip();
        char *path = write_def("[vm]\n", 0644, 65534);
        char expected[512];
        snprintf(
                expected, sizeof(expected),
                "%s: owned by uid 65534, not root, but it drives root actions; fix with chown root:root %s && chmod 644 %s",
                path, path, path);
        struct vmdef_load_opts opts = {.allow_unsafe_owner = true};
        load_fails(path, &opts, -EPERM, expected);
}

static void test_load_refuses_a_file_writable_by_others(void **state)
{
        (void)state;
        if (geteuid() != 0)
                skip();
        char *path = write_def("[vm]\n", 0666, 0);
        char expected[512];
        snprintf(
                expected, sizeof(expected),
                "%s: writable by others (mode 0666), but it drives root actions; fix with chown root:root %s && chmod 644 %s",
                path, path, path);
        load_fails(path, NULL, -EPERM, expected);
}

/* Whoever can write a folder above the definition can swap it for their own. */
static void test_load_refuses_a_definition_in_a_folder_others_can_write(void **state)
{
        (void)state;
        if (geteuid() != 0)
                skip();
        char *path = write_def("[memory]\nsize = 1G\n", 0644, 0);
        char expected[1024];
        assert_int_equal(chmod(tmpdir, 0777), 0);
        snprintf(
                expected, sizeof(expected),
                "%s: in a folder root cannot trust: %s is writable by others (mode 0777); root runs or opens what it leads to: fix with `chmod go-w %s`; it drives root actions",
                path, tmpdir, tmpdir);
        load_fails(path, NULL, -EPERM, expected);
        assert_int_equal(chmod(tmpdir, 0755), 0);
        assert_int_equal(chown(tmpdir, 65534, 65534), 0);
        snprintf(
                expected, sizeof(expected),
                "%s: in a folder root cannot trust: %s is owned by uid 65534, not root; root runs or opens what it leads to: fix with `chown root:root %s`; it drives root actions",
                path, tmpdir, tmpdir);
        load_fails(path, NULL, -EPERM, expected);
        /* a user's symlink to a definition of root's: the user picks what root reads */
        char link[160];
        snprintf(link, sizeof(link), "%s/link.ini", tmpdir);
        assert_int_equal(symlink(path, link), 0);
        assert_int_equal(lchown(link, 65534, 65534), 0);
        struct vmdef_diags diags = {0};
        struct vm_def *def = NULL;
        assert_int_equal(vmdef_load(link, NULL, &def, &diags), -EPERM);
        assert_non_null(strstr(diags.items[0].msg, "give the real path instead of the symlink"));
        vmdef_diags_free(&diags);
        unlink(link);
        /* root's sticky folder like /tmp: no one else can swap root's file in it */
        assert_int_equal(chown(tmpdir, 0, 0), 0);
        assert_int_equal(chmod(tmpdir, 01777), 0);
        struct vm_def *ok = NULL;
        assert_int_equal(vmdef_load(path, NULL, &ok, &diags), 0);
        vmdef_free(ok);
        vmdef_diags_free(&diags);
        assert_int_equal(chmod(tmpdir, 0700), 0);
}

static void test_load_reads_a_safe_file(void **state)
{
        (void)state;
        char *path = write_def("[memory]\nsize = 1G\n", 0644, getuid());
        struct vmdef_diags diags = {0};
        struct vm_def *def = NULL;
        struct vmdef_load_opts opts = {.allow_unsafe_owner = true}; /* when not root */
        assert_int_equal(vmdef_load(path, &opts, &def, &diags), 0);
        assert_string_equal(def->name, "vm");
        assert_int_equal(def->memory_bytes, 1ull << 30);
        vmdef_free(def);
        vmdef_diags_free(&diags);
}

static void test_load_reports_missing_file_and_directory(void **state)
{
        (void)state;
        char path[128], expected[512];
        snprintf(path, sizeof(path), "%s/absent.ini", tmpdir);
        snprintf(
                expected, sizeof(expected),
                "%s: no such file; expected a definition file (a bare NAME is read from the config directory as NAME.ini)",
                path);
        load_fails(path, NULL, -ENOENT, expected);
        snprintf(expected, sizeof(expected),
                 "%s: is a directory; expected a definition file such as %s/NAME.ini", tmpdir,
                 tmpdir);
        load_fails(tmpdir, NULL, -EISDIR, expected);
}

static void test_resolve_path_treats_names_and_files_differently(void **state)
{
        (void)state;
        char *p = vmdef_resolve_path("win10", "/etc/vmlaunch");
        assert_string_equal(p, "/etc/vmlaunch/win10.ini");
        free(p);
        p = vmdef_resolve_path("./win10", "/etc/vmlaunch");
        assert_string_equal(p, "./win10");
        free(p);
        p = vmdef_resolve_path("win10.ini", "/etc/vmlaunch");
        assert_string_equal(p, "win10.ini");
        free(p);
        p = vmdef_resolve_path("win10", NULL);
        assert_string_equal(p, "/etc/vmlaunch/win10.ini");
        free(p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_guide_win10_definition_parses_into_the_expected_struct),
                cmocka_unit_test(test_minimal_definition_gets_documented_defaults),
                cmocka_unit_test(test_platform_keys_parse_and_default_to_auto_and_none),
                cmocka_unit_test(test_continuation_lines_extend_the_previous_value),
                cmocka_unit_test(test_comments_bom_crlf_and_colon_separator_are_accepted),
                cmocka_unit_test(test_disk_defaults_follow_path_and_media),
                cmocka_unit_test(test_all_errors_are_collected_not_just_the_first),
                cmocka_unit_test(test_warnings_are_marked_and_do_not_fail),
                cmocka_unit_test(test_indented_key_after_a_key_is_a_continuation_not_a_key),
                cmocka_unit_test(test_long_section_name_is_rejected_not_truncated),
                cmocka_unit_test(
                        test_load_refuses_a_file_not_owned_by_root_even_when_asked_as_root),
                cmocka_unit_test(test_load_refuses_a_file_writable_by_others),
                cmocka_unit_test(test_load_refuses_a_definition_in_a_folder_others_can_write),
                cmocka_unit_test(test_session_keys_parse_into_the_definition),
                cmocka_unit_test(test_ready_timeout_without_a_readiness_to_wait_for_warns),
                cmocka_unit_test(test_load_reads_a_safe_file),
                cmocka_unit_test(test_load_reports_missing_file_and_directory),
                cmocka_unit_test(test_resolve_path_treats_names_and_files_differently),
        };
        return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
