document.getElementById("resubmit").submit();
