# Warning set for every host-side target of dvmm (the freestanding guests
# use their own flags). Call dvmm_warnings(<target>).
function(dvmm_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wconversion -Wsign-conversion -Wshadow
    -Wold-style-cast -Wnon-virtual-dtor -Woverloaded-virtual
    $<$<BOOL:${DVMM_WERROR}>:-Werror>)
endfunction()
