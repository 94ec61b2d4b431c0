/*
 * Queues: a timeline semaphore per queue, one-time command buffers, submissions, tickets.
 */
#include "device/device_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------------------------
 * Queues: timelines and one-time command buffers
 * ---------------------------------------------------------------------------------------- */
sedx_result sedx__queue_init(sedx_context *ctx, sedx__queue *q)
{
    pthread_mutex_init(&q->lock, NULL);
    pthread_mutex_init(&q->pool_lock, NULL);
    if (!q->present || !(ctx->features & SEDX_FEATURE_TIMELINE_SEMAPHORE)) return SEDX_SUCCESS;
    VkSemaphoreTypeCreateInfo type = {VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO};
    type.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE;
    type.initialValue = 0;
    VkSemaphoreCreateInfo sci = {VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
    sci.pNext = &type;
    VkResult vr = vkCreateSemaphore(ctx->device, &sci, NULL, &q->timeline);
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkCreateSemaphore(timeline)");
    q->can_submit = true;
    return SEDX_SUCCESS;
}

/* Creates slot's pool and command buffer on first use (called with pool_lock held). */
static sedx_result init_slot(sedx_context *ctx, sedx__queue *q, int slot)
{
    if (q->pools[slot]) return SEDX_SUCCESS;
    VkCommandPoolCreateInfo pci = {VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pci.flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT;
    pci.queueFamilyIndex = q->family;
    VkResult vr = vkCreateCommandPool(ctx->device, &pci, NULL, &q->pools[slot]);
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkCreateCommandPool");
    VkCommandBufferAllocateInfo ai = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ai.commandPool = q->pools[slot];
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    vr = vkAllocateCommandBuffers(ctx->device, &ai, &q->cmds[slot]);
    if (vr != VK_SUCCESS) {
        vkDestroyCommandPool(ctx->device, q->pools[slot], NULL);
        q->pools[slot] = VK_NULL_HANDLE;
        return SEDX__VK(vr, "vkAllocateCommandBuffers");
    }
    return SEDX_SUCCESS;
}

void sedx__queue_finish(sedx_context *ctx, sedx__queue *q)
{
    if (ctx->device) {
        for (int i = 0; i < (int)SEDX__CMD_RING; ++i)
            if (q->pools[i]) vkDestroyCommandPool(ctx->device, q->pools[i], NULL);
        if (q->timeline) vkDestroySemaphore(ctx->device, q->timeline, NULL);
    }
    memset(q->pools, 0, sizeof q->pools);
    q->timeline = VK_NULL_HANDLE;
    pthread_mutex_destroy(&q->lock);
    pthread_mutex_destroy(&q->pool_lock);
}

uint64_t sedx__queue_refresh_completed(sedx_context *ctx, sedx__queue *q)
{
    if (!q->timeline) return atomic_load(&q->completed);
    uint64_t v = 0;
    if (vkGetSemaphoreCounterValue(ctx->device, q->timeline, &v) != VK_SUCCESS) return atomic_load(&q->completed);
    uint64_t old = atomic_load(&q->completed);
    while (v > old && !atomic_compare_exchange_weak(&q->completed, &old, v)) {
    }
    return v > old ? v : old;
}

sedx_result sedx__queue_wait(sedx_context *ctx, sedx__queue *q, uint64_t value, uint64_t timeout_ns)
{
    if (value == 0 || atomic_load(&q->completed) >= value) return SEDX_SUCCESS;
    if (!q->timeline) return SEDX_SUCCESS;
    VkSemaphoreWaitInfo wi = {VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO};
    wi.semaphoreCount = 1;
    wi.pSemaphores = &q->timeline;
    wi.pValues = &value;
    VkResult vr = vkWaitSemaphores(ctx->device, &wi, timeout_ns);
    if (vr == VK_TIMEOUT) return SEDX_TIMEOUT;
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkWaitSemaphores");
    sedx__queue_refresh_completed(ctx, q);
    return SEDX_SUCCESS;
}

/* The end of a begin: submitted with timeline value `value`, or (0) not submitted, logged. */
static void release_slot(sedx__queue *q, uint32_t slot, uint64_t value)
{
    pthread_mutex_lock(&q->pool_lock);
    q->cmd_value[slot] = value;
    q->cmd_busy[slot] = false;
    if (!value) q->cmd_drops[slot][q->cmd_drop_count[slot]++ % SEDX__CMD_DROP_LOG] = q->cmd_epoch[slot];
    pthread_mutex_unlock(&q->pool_lock);
}

sedx__cmd_fate sedx__queue_cmd_fate(sedx__queue *q, uint32_t slot, uint64_t epoch, uint64_t *value)
{
    sedx__cmd_fate fate;
    pthread_mutex_lock(&q->pool_lock);
    if (q->cmd_epoch[slot] == epoch) {
        *value = q->cmd_value[slot];
        fate = q->cmd_busy[slot] ? SEDX__CMD_RECORDING : *value ? SEDX__CMD_SUBMITTED : SEDX__CMD_NOT_SUBMITTED;
    } else {
        /* Begun again since, so that begin ended first. Not submitted iff its epoch is logged;
         * the log holds every not-submitted begin from its oldest entry on (they are logged in
         * epoch order), so an epoch below that entry is unknown once entries were overwritten. */
        uint64_t n = q->cmd_drop_count[slot];
        uint32_t kept = (uint32_t)SEDX__MIN(n, (uint64_t)SEDX__CMD_DROP_LOG);
        uint64_t oldest = UINT64_MAX;
        fate = SEDX__CMD_SUBMITTED;
        for (uint32_t i = 0; i < kept; ++i) {
            uint64_t e = q->cmd_drops[slot][i];
            if (e == epoch) fate = SEDX__CMD_NOT_SUBMITTED;
            oldest = SEDX__MIN(oldest, e);
        }
        if (fate == SEDX__CMD_SUBMITTED && n > SEDX__CMD_DROP_LOG && oldest > epoch) fate = SEDX__CMD_UNKNOWN;
        /* A slot is begun again only once its last submission has completed (sedx_cmd_begin), so
         * the completed value is a ticket at or after that submission. */
        *value = fate == SEDX__CMD_SUBMITTED ? atomic_load(&q->completed) : 0;
    }
    pthread_mutex_unlock(&q->pool_lock);
    return fate;
}

sedx_result sedx_cmd_begin(sedx_context *ctx, sedx_queue kind, sedx_cmd *out)
{
    if (!ctx || !out || (unsigned)kind >= SEDX_QUEUE_COUNT)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_cmd_begin: NULL context/out or bad queue");
    sedx__queue *q = sedx__ctx_queue(ctx, kind);
    if (!q->can_submit)
        return SEDX__ERR(SEDX_ERROR_FEATURE_NOT_PRESENT, TAG,
                         "submissions need timeline semaphores (not enabled on the adopted device)");
    pthread_mutex_lock(&q->pool_lock);
    int slot = -1;
    for (int attempt = 0; slot < 0; ++attempt) {
        uint64_t done = sedx__queue_refresh_completed(ctx, q);
        uint64_t oldest = UINT64_MAX;
        for (int i = 0; i < (int)SEDX__CMD_RING; ++i) {
            if (q->cmd_busy[i]) continue;
            if (q->cmd_value[i] <= done) {
                slot = i;
                break;
            }
            oldest = SEDX__MIN(oldest, q->cmd_value[i]);
        }
        if (slot >= 0) break;
        if (oldest == UINT64_MAX || attempt > 1000) {
            pthread_mutex_unlock(&q->pool_lock);
            return SEDX__ERR(SEDX_ERROR_BUSY, TAG, "all %u one-time command buffers are being recorded",
                             SEDX__CMD_RING);
        }
        /* every command buffer is in flight: wait for the oldest, without holding the lock */
        pthread_mutex_unlock(&q->pool_lock);
        sedx_result r = sedx__queue_wait(ctx, q, oldest, UINT64_MAX);
        pthread_mutex_lock(&q->pool_lock);
        if (r != SEDX_SUCCESS) {
            pthread_mutex_unlock(&q->pool_lock);
            return r;
        }
    }
    sedx_result r = init_slot(ctx, q, slot);
    if (r == SEDX_SUCCESS) {
        q->cmd_busy[slot] = true;
        q->cmd_epoch[slot]++;
    }
    pthread_mutex_unlock(&q->pool_lock);
    if (r != SEDX_SUCCESS) return r;

    /* the slot's pool is ours alone until submit/discard */
    VkResult vr = vkResetCommandPool(ctx->device, q->pools[slot], 0);
    VkCommandBufferBeginInfo bi = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    if (vr == VK_SUCCESS) vr = vkBeginCommandBuffer(q->cmds[slot], &bi);
    if (vr != VK_SUCCESS) {
        release_slot(q, (uint32_t)slot, 0);
        return SEDX__VK(vr, "vkBeginCommandBuffer");
    }
    out->cmd = q->cmds[slot];
    out->queue = (uint32_t)kind;
    out->slot = (uint32_t)slot;
    return SEDX_SUCCESS;
}

/* cmd's queue when cmd is a command buffer begun on ctx and not yet submitted, else NULL. */
static sedx__queue *begun_queue(sedx_context *ctx, const sedx_cmd *cmd)
{
    if (!ctx || !cmd || !cmd->cmd || cmd->queue >= SEDX_QUEUE_COUNT || cmd->slot >= SEDX__CMD_RING) return NULL;
    sedx__queue *q = sedx__ctx_queue(ctx, (sedx_queue)cmd->queue);
    pthread_mutex_lock(&q->pool_lock);
    bool ours = q->cmd_busy[cmd->slot] && q->cmds[cmd->slot] == cmd->cmd;
    pthread_mutex_unlock(&q->pool_lock);
    return ours ? q : NULL;
}

void sedx_cmd_discard(sedx_context *ctx, sedx_cmd *cmd)
{
    sedx__queue *q = begun_queue(ctx, cmd);
    if (!q) return;
    vkEndCommandBuffer(cmd->cmd);
    release_slot(q, cmd->slot, 0);
    cmd->cmd = VK_NULL_HANDLE;
}

/* The waits of a submission, checked before the command buffer is ended: a refusal leaves it
 * begun (the caller may correct info and submit again, or discard it). */
static sedx_result check_submit_info(const sedx_submit_info *info)
{
    if (!info || info->wait_count == 0) return SEDX_SUCCESS;
    if (info->wait_count > SEDX__MAX_SUBMIT_WAITS)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG,
                         "sedx_cmd_submit: %u wait_semaphores, at most %u (the command buffer stays begun)",
                         info->wait_count, SEDX__MAX_SUBMIT_WAITS);
    if (!info->wait_semaphores)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG,
                         "sedx_cmd_submit: wait_count %u but wait_semaphores is NULL (the command buffer stays begun)",
                         info->wait_count);
    for (uint32_t i = 0; i < info->wait_count; ++i)
        if (!info->wait_semaphores[i])
            return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG,
                             "sedx_cmd_submit: wait_semaphores[%u] is VK_NULL_HANDLE (the command buffer stays begun)", i);
    return SEDX_SUCCESS;
}

/* vkQueueSubmit of cmd with info's waits, signalling the queue's next timeline value
 * (*out_value, 0 on failure). Takes the queue lock. */
static VkResult queue_submit(sedx__queue *q, VkCommandBuffer cmd, const sedx_submit_info *info, uint64_t *out_value)
{
    uint32_t n_wait = info ? info->wait_count : 0;
    uint64_t zero_values[SEDX__MAX_SUBMIT_WAITS] = {0};
    VkPipelineStageFlags all_stages[SEDX__MAX_SUBMIT_WAITS];
    for (uint32_t i = 0; i < SEDX__MAX_SUBMIT_WAITS; ++i) all_stages[i] = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;

    pthread_mutex_lock(&q->lock);
    uint64_t value = atomic_load(&q->submitted) + 1;
    VkTimelineSemaphoreSubmitInfo ts = {VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO};
    ts.waitSemaphoreValueCount = n_wait;
    ts.pWaitSemaphoreValues = (info && info->wait_values) ? info->wait_values : zero_values;
    ts.signalSemaphoreValueCount = 1;
    ts.pSignalSemaphoreValues = &value;
    VkSubmitInfo si = {VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.pNext = &ts;
    si.waitSemaphoreCount = n_wait;
    si.pWaitSemaphores = n_wait ? info->wait_semaphores : NULL;
    si.pWaitDstStageMask = (info && info->wait_stages) ? info->wait_stages : all_stages;
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cmd;
    si.signalSemaphoreCount = 1;
    si.pSignalSemaphores = &q->timeline;
    VkResult vr = vkQueueSubmit(q->queue, 1, &si, VK_NULL_HANDLE);
    if (vr == VK_SUCCESS) atomic_store(&q->submitted, value);
    pthread_mutex_unlock(&q->lock);
    *out_value = vr == VK_SUCCESS ? value : 0;
    return vr;
}

sedx_result sedx_cmd_submit(sedx_context *ctx, sedx_cmd *cmd, const sedx_submit_info *info, sedx_ticket *out_ticket)
{
    if (!ctx || !cmd || !cmd->cmd)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_cmd_submit: no begun command buffer");
    sedx__queue *q = begun_queue(ctx, cmd);
    if (!q)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG,
                         "sedx_cmd_submit: the command buffer was not begun on this context and queue");
    sedx_result r = check_submit_info(info);
    if (r != SEDX_SUCCESS) return r;
    /* from here on the command buffer is consumed, submitted or not */
    const char *call = "vkEndCommandBuffer";
    VkResult vr = vkEndCommandBuffer(cmd->cmd);
    uint64_t value = 0;
    if (vr == VK_SUCCESS) {
        call = "vkQueueSubmit";
        vr = queue_submit(q, cmd->cmd, info, &value);
    }
    release_slot(q, cmd->slot, value);
    cmd->cmd = VK_NULL_HANDLE;
    if (vr != VK_SUCCESS) return SEDX__VK(vr, call);
    if (out_ticket) {
        out_ticket->value = value;
        out_ticket->queue = (q == &ctx->queues[SEDX_QUEUE_TRANSFER]) ? SEDX_QUEUE_TRANSFER : SEDX_QUEUE_GRAPHICS;
        out_ticket->context_id = ctx->id;
    }
    sedx_context_collect_garbage(ctx);
    return SEDX_SUCCESS;
}

/* ------------------------------------------------------------------------------------------
 * Tickets and timelines
 * ---------------------------------------------------------------------------------------- */
static sedx_result check_ticket(sedx_context *ctx, sedx_ticket t, sedx__queue **out_q)
{
    if (!ctx) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "NULL context");
    if (t.value == 0) {
        *out_q = NULL;
        return SEDX_SUCCESS;
    }
    if (t.context_id != ctx->id)
        return SEDX__ERR(SEDX_ERROR_WRONG_CONTEXT, TAG, "ticket from context %u used with context %u",
                         t.context_id, ctx->id);
    if (t.queue >= SEDX_QUEUE_COUNT) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "ticket with bad queue");
    sedx__queue *q = sedx__ctx_queue(ctx, (sedx_queue)t.queue);
    if (t.value > atomic_load(&q->submitted))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "ticket value %llu was never submitted",
                         (unsigned long long)t.value);
    *out_q = q;
    return SEDX_SUCCESS;
}

sedx_result sedx_ticket_poll(sedx_context *ctx, sedx_ticket ticket)
{
    sedx__queue *q = NULL;
    sedx_result r = check_ticket(ctx, ticket, &q);
    if (r != SEDX_SUCCESS || !q) return r;
    return sedx__queue_refresh_completed(ctx, q) >= ticket.value ? SEDX_SUCCESS : SEDX_NOT_READY;
}

sedx_result sedx_ticket_wait(sedx_context *ctx, sedx_ticket ticket, uint64_t timeout_ns)
{
    sedx__queue *q = NULL;
    sedx_result r = check_ticket(ctx, ticket, &q);
    if (r != SEDX_SUCCESS || !q) return r;
    return sedx__queue_wait(ctx, q, ticket.value, timeout_ns);
}

VkSemaphore sedx_context_timeline(const sedx_context *ctx, sedx_queue kind)
{
    if (!ctx || (unsigned)kind >= SEDX_QUEUE_COUNT) return VK_NULL_HANDLE;
    return sedx__ctx_queue((sedx_context *)ctx, kind)->timeline;
}

uint64_t sedx_context_completed_value(sedx_context *ctx, sedx_queue kind)
{
    if (!ctx || (unsigned)kind >= SEDX_QUEUE_COUNT) return 0;
    return sedx__queue_refresh_completed(ctx, sedx__ctx_queue(ctx, kind));
}

uint64_t sedx_context_submitted_value(const sedx_context *ctx, sedx_queue kind)
{
    if (!ctx || (unsigned)kind >= SEDX_QUEUE_COUNT) return 0;
    return atomic_load(&sedx__ctx_queue((sedx_context *)ctx, kind)->submitted);
}

