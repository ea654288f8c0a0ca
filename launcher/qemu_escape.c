/* placeholder: replaced by the work on this module */
