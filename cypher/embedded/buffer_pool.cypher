// The buffer pool's limit and current use, bytes (mem_limit, mem_usage).
CALL bm_info() RETURN mem_limit, mem_usage
