/**
 * Tiny Thumb programs for the instruction-level terminal's tests, as the bytes of their images
 * linked at 0x20003000 (the F4 agent's link address). The assembly is beside each one; it was
 * assembled once with `arm-none-eabi-as -mcpu=cortex-m4` and `arm-none-eabi-ld -Ttext=0x20003000`
 * (objcopy -O binary): the tests need no ARM toolchain.
 */
export { detachedTerminal } from '../bench/cpu';

export const LOAD = 0x20003000;

function bytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g)!.map((b) => parseInt(b, 16)));
}

/**
 * Brings USART1 up on PA9/PA10 (AF7) at 115200 8E1 from the 16 MHz HSI (BRR 139), sends "H", then answers every byte b with b + 1; the byte "q" makes it write AIRCR = 0x05FA0004 (SYSRESETREQ).
 *
 *   .syntax unified
 *   .cpu cortex-m4
 *   .thumb
 *   .word 0x20008000
 *   .word start + 1
 *   .thumb_func
 * start:
 *   ldr r0, =0x40023800
 *   ldr r1, [r0, #0x30]
 *   orr r1, r1, #1
 *   str r1, [r0, #0x30]
 *   ldr r1, [r0, #0x44]
 *   orr r1, r1, #0x10
 *   str r1, [r0, #0x44]
 *   ldr r0, =0x40020000
 *   ldr r1, [r0]
 *   bic r1, r1, #(0xF << 18)
 *   orr r1, r1, #(0xA << 18)
 *   str r1, [r0]
 *   ldr r1, [r0, #0x24]
 *   bic r1, r1, #0xFF0
 *   orr r1, r1, #0x770
 *   str r1, [r0, #0x24]
 *   ldr r0, =0x40011000
 *   movs r1, #139
 *   str r1, [r0, #8]
 *   ldr r1, =0x340C
 *   str r1, [r0, #0x0C]
 *   movs r2, #'H'
 *   bl putc
 * loop:
 *   bl getc
 *   adds r2, r2, #1
 *   cmp r2, #('q'+1)
 *   beq reset
 *   bl putc
 *   b loop
 * reset:
 *   ldr r0, =0xE000ED0C
 *   ldr r1, =0x05FA0004
 *   str r1, [r0]
 * 1: b 1b
 * putc:
 *   ldr r3, [r0]
 *   tst r3, #0x80
 *   beq putc
 *   str r2, [r0, #4]
 *   bx lr
 * getc:
 *   ldr r3, [r0]
 *   tst r3, #0x20
 *   beq getc
 *   ldr r2, [r0, #4]
 *   bx lr
 *   .ltorg
 */
export const ECHO_F4 = bytes(
  '00800020093000201b48016b41f001010163416c41f0100141641848016821f4701141f420110160416a21f47f6141f4ee61416212488b21816043f20c41c160482200f00cf800f010f80132722a02d000f005f8f7e70b480b490160fee7036813f0800ffbd042607047036813f0200ffbd04268704700000038024000000240001001400ced00e00400fa05',
);

/**
 * Unlocks the F4 flash interface, erases sector 1 (SER, SNB 1, PSIZE x32, STRT), waits for BSY, programs 0x12345678 at 0x08004000 (PG), waits, stores the word read back and the last SR at 0x20007000/0x20007004, then SYSRESETREQ.
 *
 *   .syntax unified
 *   .cpu cortex-m4
 *   .thumb
 *   .word 0x20008000
 *   .word start + 1
 *   .thumb_func
 * start:
 *   ldr r0, =0x40023C00     @ FLASH
 *   ldr r1, =0x45670123
 *   str r1, [r0, #4]        @ KEYR
 *   ldr r1, =0xCDEF89AB
 *   str r1, [r0, #4]
 *   ldr r1, =0x0000020A     @ PSIZE x32 | SER | SNB 1
 *   str r1, [r0, #0x10]
 *   ldr r2, =0x00010000     @ STRT
 *   orr r1, r1, r2
 *   str r1, [r0, #0x10]
 * wait:
 *   ldr r3, [r0, #0x0C]     @ SR
 *   tst r3, #0x10000        @ BSY
 *   bne wait
 *   ldr r1, =0x00000201     @ PSIZE x32 | PG
 *   str r1, [r0, #0x10]
 *   ldr r4, =0x08004000
 *   ldr r5, =0x12345678
 *   str r5, [r4]
 * wait2:
 *   ldr r3, [r0, #0x0C]
 *   tst r3, #0x10000
 *   bne wait2
 *   movs r1, #0
 *   str r1, [r0, #0x10]
 *   ldr r6, [r4]            @ read back through the array
 *   ldr r7, =0x20007000
 *   str r6, [r7]            @ into RAM for the test
 *   str r3, [r7, #4]        @ SR after programming
 *   ldr r0, =0xE000ED0C
 *   ldr r1, =0x05FA0004
 *   str r1, [r0]
 * 1: b 1b
 *   .ltorg
 */
export const ERASE_F4 = bytes(
  '00800020093000201248134941601349416040f20a2101614ff4803241ea02010161c36813f4803ffbd140f2012101610b4c0c4d2560c36813f4803ffbd1002101612668084f3e607b60084808490160fee70000003c024023016745ab89efcd0040000878563412007000200ced00e00400fa05',
);

/**
 * Three vector tables: +0x00 runs into `udf #0`; +0x08 reads 0x60000000 (nothing mapped there); +0x10 spins forever in `b .`.
 *
 *   .syntax unified
 *   .cpu cortex-m4
 *   .thumb
 *   .word 0x20008000
 *   .word udf + 1
 *   .word 0x20008000
 *   .word unmapped + 1
 *   .word 0x20008000
 *   .word spin + 1
 *   .thumb_func
 * udf:
 *   nop
 *   udf #0
 *   .thumb_func
 * unmapped:
 *   ldr r0, =0x60000000
 *   ldr r1, [r0]
 *   b unmapped
 *   .thumb_func
 * spin:
 *   b spin
 *   .ltorg
 */
export const FAULTS = bytes('0080002019300020008000201d300020008000202530002000bf00de4ff0c0400168fbe7fee7');

/**
 * Starts the independent watchdog (KR = 0xCCCC: prescaler /4, reload 0xFFF, 0.512 s) and spins
 * without refreshing it.
 *
 *   .syntax unified
 *   .cpu cortex-m4
 *   .thumb
 *   .word 0x20008000
 *   .word start + 1
 *   .thumb_func
 * start:
 *   ldr r0, =0x40003000     @ IWDG
 *   movw r1, #0xCCCC        @ KR: start (PR /4, RLR 0xFFF: 0.512 s)
 *   str r1, [r0]
 * spin:
 *   b spin
 *   .ltorg
 */
export const IWDG_F4 = bytes('008000200930002002484cf6cc410160fee7000000300040');

/**
 * Two vector tables: +0x00 reads CRC_DR (0x40023000: mapped, it shares RCC's page, but has no
 * model); +0x08 writes a wrong key to FLASH_KEYR.
 *
 *   .syntax unified
 *   .cpu cortex-m4
 *   .thumb
 *   .word 0x20008000
 *   .word start + 1
 *   .word 0x20008000
 *   .word badkey + 1
 *   .thumb_func
 * start:
 *   ldr r0, =0x40023000     @ CRC_DR: a mapped page (RCC), no model
 *   nop
 *   ldr r1, [r0]
 *   b start
 *   .thumb_func
 * badkey:
 *   ldr r0, =0x40023C04     @ FLASH_KEYR
 *   ldr r1, =0x12345678     @ not KEY1
 *   str r1, [r0]
 *   b badkey
 *   .ltorg
 */
export const BUS_FAULTS = bytes('00800020113000200080002019300020034800bf0168fbe7024803490160fbe700300240043c024078563412');
